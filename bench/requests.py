"""Request factories for `bench.load`: each returns `i -> raw request bytes` (HTTP mode) or
`i -> (sql, args)` (SQL mode). Read factories pre-build their requests and rotate; write
factories make a unique body per index (new delivery id, new measurement segments).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.datagen import period_list
from bench.load import build_request

ROOT = Path(__file__).resolve().parent.parent
JIRA_FIXTURE = ROOT / "tests" / "outcomes" / "webhooks" / "fixtures" / "jira" / "issue_created.json"


def _rotate(items: list[Any]) -> Callable[[int], Any]:
    n = len(items)
    return lambda i: items[i % n]


def get_paths(
    host: str, port: int, paths: list[str], headers: dict[str, str] | None = None
) -> Callable[[int], bytes]:
    return _rotate([build_request("GET", p, host=host, port=port, headers=headers) for p in paths])


def post_json(
    host: str,
    port: int,
    path: str,
    bodies: list[Any],
    headers: dict[str, str] | None = None,
) -> Callable[[int], bytes]:
    h = {"Content-Type": "application/json", **(headers or {})}
    raw = [json.dumps(b).encode() for b in bodies]
    return _rotate(
        [build_request("POST", path, host=host, port=port, headers=h, body=b) for b in raw]
    )


def jira_body(i: int, prefix: str) -> tuple[bytes, str]:
    """A realistic `jira:issue_created` delivery for a new issue; unique per (prefix, i)."""
    doc = _jira_template()
    issue = doc["issue"]
    issue["id"] = str(1_000_000 + i)
    issue["key"] = f"{prefix}-{i + 1}"
    issue["self"] = issue["self"].rsplit("/", 1)[0] + "/" + issue["id"]
    fields = issue["fields"]
    fields["summary"] = f"Benchmark epic {prefix}-{i + 1}"
    fields["labels"] = ["outcome-revenue", "outcome-cx"] if i % 2 else ["outcome-cost"]
    return json.dumps(doc).encode(), f"{prefix}-{i}-{uuid.uuid4().hex[:8]}"


_TEMPLATE: dict[str, Any] | None = None


def _jira_template() -> dict[str, Any]:
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = json.loads(JIRA_FIXTURE.read_text())
    return json.loads(json.dumps(_TEMPLATE))


def jira_webhook(
    host: str, port: int, path: str, prefix: str, secret: str = ""
) -> Callable[[int], bytes]:
    def make(i: int) -> bytes:
        body, delivery = jira_body(i, prefix)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": delivery,
            "X-Atlassian-Webhook-Flow": "Primary",
        }
        if secret:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        return build_request("POST", path, host=host, port=port, headers=headers, body=body)

    return make


def bulk_measurements(
    host: str, port: int, slugs: list[str], rows: int, prefix: str, headers: dict[str, str]
) -> Callable[[int], bytes]:
    """Scenario 3: each request records `rows` new measurements of one KPI (fresh segments)."""
    periods = period_list()
    h = {"Content-Type": "application/json", **headers}

    def make(i: int) -> bytes:
        slug = slugs[i % len(slugs)]
        body = []
        s = 0
        while len(body) < rows:
            for p in periods:
                if len(body) == rows:
                    break
                body.append(
                    {
                        "period": p,
                        "value": f"{(i * 7 + s) % 997}.5",
                        "segment": f"{prefix}{i}s{s}",
                        "source": "bench",
                    }
                )
            s += 1
        payload = json.dumps(body).encode()
        return build_request(
            "POST", f"/v1/kpis/{slug}/measurements", host=host, port=port, headers=h, body=payload
        )

    return make


def sql_rotate(sql: str, args: list[list[Any]]) -> Callable[[int], tuple[str, list[Any]]]:
    return _rotate([(sql, a) for a in args])


def sql_webhook(sql: str, prefix: str) -> Callable[[int], tuple[str, list[Any]]]:
    def make(i: int) -> tuple[str, list[Any]]:
        body, delivery = jira_body(i, prefix)
        headers = json.dumps({"x-atlassian-webhook-identifier": delivery})
        return sql, [uuid.uuid4().hex, delivery, f"{prefix}-{i + 1}", headers, body]

    return make
