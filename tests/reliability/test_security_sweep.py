"""Security sweep over EVERY route of both services (enumerated from `app.routes`):

- without a key → 401 problem+json with `WWW-Authenticate: Bearer` (an unknown key too),
  except the documented public routes, where a bearer key changes nothing;
- with a key lacking the route's scope (read from the route's dependency tree: the
  `require_<scope>` dependency of ledgerkit.auth) → 403 problem naming the scope;
- keys made by `ledger keys create` are stored as sha256 hashes only;
- static keys are compared in constant time, over every configured key (no early exit);
- no key, webhook secret, basic-auth password or embed token reaches the logs (or the
  database: the webhook inbox stores headers with credentials redacted);
- SQL injection strings in every query parameter of every GET route are harmless: 200 with
  no rows, 404 or 422, and the database is unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEYS_SETTING, KEYS
from tests.reliability.dbutil import sql, table_digests
from tests.reliability.world import VALID_BODIES, Route, World, fill, routes, world

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc"}
PUBLIC_PREFIXES = ("/webhooks/", "/embed/", "/openapi.json")
NO_SCOPE_KEY = "test-no-scope-key"
# The key one step below the scope a route needs (every scope implies read; a key with no
# scope at all is the only one weaker than read).
WEAKER = {
    "read": NO_SCOPE_KEY,
    "write": KEYS["read"],
    "finance": KEYS["write"],
    "admin": KEYS["finance"],
}
SCOPE_RANK = {"read": 0, "write": 1, "finance": 2, "admin": 3}
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
INBOX = frozenset({"webhook_deliveries"})


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in getattr(dependant, "dependencies", []) or []:
        yield dep.call
        yield from _calls(dep)


def required_scope(route: Route) -> str | None:
    """The strongest `require_<scope>` in the route's dependency tree (None: none)."""
    scopes = [
        name.removeprefix("require_")
        for call in _calls(route.dependant)
        if (name := getattr(call, "__name__", "")).removeprefix("require_") in SCOPE_RANK
    ]
    return max(scopes, key=lambda s: SCOPE_RANK[s]) if scopes else None


def _problem(r: httpx.Response, status: int) -> dict[str, Any] | str:
    if r.status_code != status:
        return f"{r.status_code} (wanted {status}): {r.text[:150]}"
    if not r.headers.get("content-type", "").startswith(PROBLEM):
        return f"{status} with {r.headers.get('content-type')}"
    body: dict[str, Any] = r.json()
    if body.get("status") != status or not body.get("type") or not body.get("detail"):
        return f"incomplete problem {body}"
    return body


async def _send(w: World, route: Route, key: str | None) -> httpx.Response:
    app = w.outcomes_app if route.service == "outcomes" else w.attribution_app
    body = VALID_BODIES.get((route.method, route.path), {})
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        return await c.request(
            route.method,
            fill(route.path, w.values),
            json=body if route.method in ("POST", "PUT", "PATCH") else None,
            headers=headers,
        )


GRAPHQL_READS = {
    "outcomes": "{ kpis(first: 1) { edges { node { slug } } } }",
    "attribution": "{ runs(first: 1) { edges { node { id } } } }",
}


async def _graphql_scope(w: World, route: Route) -> list[str]:
    """GraphQL checks scopes per field: a key without `read` gets a `forbidden` error and
    no data. (GET serves the GraphiQL page: static, no data, needs a key but no scope.)"""
    if route.method == "GET":
        return []
    app = w.outcomes_app if route.service == "outcomes" else w.attribution_app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {NO_SCOPE_KEY}"},
    ) as c:
        r = await c.post("/graphql", json={"query": GRAPHQL_READS[route.service]})
    body = r.json()
    errors = body.get("errors") or []
    if body.get("data") or not errors or errors[0].get("extensions", {}).get("status") != 403:
        return [f"{route.id}: a key without `read` got {r.status_code} {r.text[:150]}"]
    return []


async def _digests(urls: dict[str, str]) -> dict[str, str]:
    from attribution.models import Base as AttributionBase
    from outcomes.models import Base as OutcomesBase

    out = await table_digests(urls["outcomes"], OutcomesBase.metadata, INBOX)
    out.update(await table_digests(urls["attribution"], AttributionBase.metadata, INBOX))
    return out


KEYS_WITH_NO_SCOPE = f"{API_KEYS_SETTING},{NO_SCOPE_KEY}:"


async def test_every_route_needs_a_key_and_its_scope(
    outcomes_settings: Any, attribution_settings: Any, database_urls: dict[str, str]
) -> None:
    failures: list[str] = []
    checked: dict[str, int] = {"protected": 0, "public": 0}
    update = {"api_keys": KEYS_WITH_NO_SCOPE}
    async with world(outcomes_settings, attribution_settings, update, update) as w:
        before = await _digests(database_urls)
        for service, app in (("outcomes", w.outcomes_app), ("attribution", w.attribution_app)):
            for route in routes(service, app, ALL_METHODS):
                if is_public(route.path):
                    checked["public"] += 1
                    if route.path.startswith("/webhooks/"):
                        continue  # their own secrets: tests/outcomes/webhooks/test_auth.py
                    anonymous = await _send(w, route, None)
                    keyed = await _send(w, route, KEYS["admin"])
                    wants_bearer = "bearer" in anonymous.headers.get("www-authenticate", "").lower()
                    if anonymous.status_code != keyed.status_code or wants_bearer:
                        failures.append(
                            f"{route.id}: public, yet a key matters "
                            f"({anonymous.status_code} vs {keyed.status_code})"
                        )
                    continue
                checked["protected"] += 1
                # GraphQL authenticates in its context getter (read; mutations check more):
                # without a require_<scope> dependency, the route must still need `read`.
                scope = required_scope(route) or "read"
                for label, key in (("no key", None), ("unknown key", "not-a-key-at-all")):
                    r = await _send(w, route, key)
                    problem = _problem(r, 401)
                    if isinstance(problem, str):
                        failures.append(f"{route.id} {label}: {problem}")
                    elif r.headers.get("www-authenticate", "").lower() != "bearer":
                        failures.append(f"{route.id} {label}: no WWW-Authenticate: Bearer")
                if route.path == "/graphql":
                    failures += await _graphql_scope(w, route)
                    continue
                r = await _send(w, route, WEAKER[scope])
                problem = _problem(r, 403)
                if isinstance(problem, str):
                    failures.append(f"{route.id} weaker than {scope}: {problem}")
                elif problem.get("required_scope") != scope:
                    failures.append(f"{route.id}: 403 names {problem.get('required_scope')}")
        after = await _digests(database_urls)
    assert checked["protected"] >= 50 and checked["public"] >= 5, checked
    assert before == after, "a refused request changed data"
    assert not failures, "\n".join(failures)


def test_stored_keys_are_hashed(database_urls: dict[str, str]) -> None:
    env = {
        **os.environ,
        "OUTCOMES_DATABASE_URL": database_urls["outcomes"],
        "ATTRIBUTION_DATABASE_URL": database_urls["attribution"],
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger_cli",
            "keys",
            "create",
            "sec-sweep",
            "--scopes",
            "read,write",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    key = next(tok for tok in done.stdout.split() if tok.startswith("lk_"))
    import asyncio

    for table, url in (
        ("outcomes_api_keys", database_urls["outcomes"]),
        ("attribution_api_keys", database_urls["attribution"]),
    ):
        rows = asyncio.run(sql(url, f'SELECT * FROM "{table}" WHERE name = :n', n="sec-sweep"))
        assert len(rows) == 1
        assert key not in repr(tuple(rows[0]))  # nowhere in the row, in no column
        assert rows[0].key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert len(rows[0].prefix) <= 8 < len(key)


async def test_stored_key_authenticates(
    outcomes_settings: Any, database_urls: dict[str, str]
) -> None:
    """The hashed key works (so the test above checked a real key)."""
    from ledgerkit.auth import create_stored_key
    from ledgerkit.db import Database
    from ledgerkit.testing import app_client
    from outcomes.app import create_app
    from outcomes.models import api_keys

    db = Database(database_urls["outcomes"])
    try:
        async with db.session(write=True) as session:
            key = await create_stored_key(session, api_keys, "sec-auth", frozenset({"read"}))
    finally:
        await db.dispose()
    async with app_client(create_app(outcomes_settings), key=key) as c:
        assert (await c.get("/v1/epics")).status_code == 200
        assert (await c.post("/v1/epics", json={"key": "S-1", "title": "t"})).status_code == 403


async def test_static_key_compare_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every configured static key is compared with hmac.compare_digest, equal-length sha256
    digests, and no early exit: the time taken does not depend on which key matched."""
    from sqlalchemy import MetaData

    from ledgerkit import auth

    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", recording)
    store = auth.KeyStore(
        auth.parse_static_keys("k-one:read,k-two:write,k-three:admin"),
        auth.api_key_table(MetaData(), "keys_for_timing_test"),
    )
    for presented in ("k-one", "k-three", "nope"):
        calls.clear()
        await store.resolve(presented)
        assert len(calls) == 3, presented  # every key, whether or not one matched
        assert all(len(a) == len(b) == 64 for a, b in calls)
    # Other secrets are compared the same way (webhook signatures, basic auth, embed links,
    # outbound signatures).
    import inspect

    from outcomes.embed import tokens
    from outcomes.webhooks import verify

    for module in (verify, tokens):
        source = inspect.getsource(module)
        assert "hmac.compare_digest" in source, module.__name__


SECRETS = {
    "jira": "jira-secret-Sx7Qk2",
    "ado_user": "ado-user-Lm3",
    "ado_password": "ado-password-Vb9Tr4",
    "ado_header": "ado-header-secret-Pq8Zz1",
    "embed": "embed-secret-Hh5Jk6",
    "wrong_key": "wrong-key-Rt6Yu7-never-valid",
}


async def test_no_secrets_in_logs_or_database(
    outcomes_settings: Any,
    attribution_settings: Any,
    database_urls: dict[str, str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    from pydantic import SecretStr

    from tests.outcomes.webhooks.helpers import payload, sign

    update = {
        "log_level": "DEBUG",
        "jira_webhook_secret": SecretStr(SECRETS["jira"]),
        "ado_basic_user": SECRETS["ado_user"],
        "ado_basic_password": SecretStr(SECRETS["ado_password"]),
        "ado_header_secret": SecretStr(SECRETS["ado_header"]),
        "embed_secret": SECRETS["embed"],
    }
    sent: set[str] = set(SECRETS.values()) | {KEYS["admin"]}
    async with world(outcomes_settings, attribution_settings, update, {"log_level": "DEBUG"}) as w:
        o, a = w.outcomes, w.attribution
        assert (await o.get("/v1/epics")).status_code == 200
        assert (await a.get("/v1/rulesets")).status_code == 200
        bad = {"Authorization": f"Bearer {SECRETS['wrong_key']}"}
        assert (await o.get("/v1/epics", headers=bad)).status_code == 401
        assert (await a.get("/v1/runs", headers=bad)).status_code == 401

        jira = json.dumps(payload("jira/issue_created.json")).encode()
        for signature in (sign(SECRETS["jira"], jira), sign("not-the-secret", jira)):
            sent.add(signature)
            r = await o.post(
                "/webhooks/jira",
                content=jira,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature": signature,
                    "X-Atlassian-Webhook-Identifier": f"sec-{signature[-6:]}",
                    "Authorization": f"Bearer {KEYS['admin']}",
                },
            )
            assert r.status_code in (202, 401), r.text
        ado = json.dumps(payload("ado/workitem_created.json")).encode()
        for password in (SECRETS["ado_password"], "wrong-password"):
            basic = base64.b64encode(f"{SECRETS['ado_user']}:{password}".encode()).decode()
            sent.add(basic)
            r = await o.post(
                "/webhooks/azure-devops",
                content=ado,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Basic {basic}",
                    "X-Outcome-Ledger-Token": SECRETS["ado_header"],
                },
            )
            assert r.status_code in (202, 401), r.text
        link = (await o.post("/v1/embed-tokens", json={"filters": {}, "expires_in": 600})).json()
        token = link["url"].split("token=", 1)[1].split("&", 1)[0]
        sent.add(token)
        assert (await o.get(link["url"].split("testserver", 1)[-1])).status_code == 200
        inbox = (await o.get("/v1/webhook-deliveries")).json()["items"]
        assert inbox, "the deliveries were recorded"

    logs = capfd.readouterr()
    text = logs.out + logs.err
    assert '"event": "request"' in text, "the request log was not captured"
    leaked = sorted(s for s in sent if s in text)
    assert not leaked, f"in the logs: {leaked}"

    dump = ""
    from attribution.models import Base as AttributionBase
    from outcomes.models import Base as OutcomesBase

    for url, metadata in (
        (database_urls["outcomes"], OutcomesBase.metadata),
        (database_urls["attribution"], AttributionBase.metadata),
    ):
        for name in metadata.tables:
            dump += repr(await sql(url, f'SELECT * FROM "{name}"'))
    # The inbox keeps X-Hub-Signature (an HMAC of the body: evidence, not a secret).
    secret_values = {v for v in sent if not v.startswith("sha256=")} - {SECRETS["wrong_key"]}
    stored = sorted(s for s in secret_values if s in dump)
    assert not stored, f"stored in the database: {stored}"


INJECTIONS = ("' OR '1'='1", "'; DROP TABLE epics; --", "1) OR (1=1", "%' OR 1=1 --", "\\'; --")


async def test_sql_injection_in_every_query_parameter(
    outcomes_settings: Any, attribution_settings: Any, database_urls: dict[str, str]
) -> None:
    failures: list[str] = []
    tried = 0
    async with world(outcomes_settings, attribution_settings) as w:
        link = (await w.outcomes.post("/v1/embed-tokens", json={"filters": {}})).json()
        embed_token = link["url"].split("token=", 1)[1].split("&", 1)[0]
        before = await _digests(database_urls)
        for service, app in (("outcomes", w.outcomes_app), ("attribution", w.attribution_app)):
            client = w.outcomes if service == "outcomes" else w.attribution
            for route in routes(service, app, ("GET",)):
                params = [
                    p["name"]
                    for p in (route.operation or {}).get("parameters", [])
                    if p.get("in") == "query" and p["name"] not in ("cursor", "limit", "token")
                ]
                fixed = {"token": embed_token} if route.path.startswith("/embed/") else {}
                for name in params:
                    for text in INJECTIONS:
                        tried += 1
                        r = await client.get(
                            fill(route.path, w.values), params={**fixed, name: text}
                        )
                        # The embed page answers a bad filter with its own HTML 400 page.
                        allowed = (200, 400, 404, 422) if fixed else (200, 404, 422)
                        if r.status_code not in allowed:
                            failures.append(
                                f"{route.id} ?{name}={text}: {r.status_code} {r.text[:120]}"
                            )
                        elif r.status_code == 200 and r.headers["content-type"].startswith(
                            "text/csv"
                        ):
                            if len(r.text.strip().splitlines()) != 1:  # the header row only
                                failures.append(f"{route.id} ?{name}={text}: rows in the CSV")
                        elif r.status_code == 200 and r.headers["content-type"].startswith(
                            "application/json"
                        ):
                            items = r.json().get("items") if isinstance(r.json(), dict) else None
                            if items:
                                failures.append(
                                    f"{route.id} ?{name}={text}: {len(items)} rows matched"
                                )
        after = await _digests(database_urls)
    assert tried > 100, tried
    assert before == after
    assert not failures, "\n".join(failures)
