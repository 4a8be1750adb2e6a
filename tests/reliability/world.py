"""A small world for the sweeps: both apps in process (admin key), one of every resource,
every write route of both apps enumerated from `app.routes`, and path values that name
real resources.

A new route with a path parameter not in `path_values` fails the sweeps on purpose: give the
parameter a real value here so the new endpoint is covered too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from ledgerkit.testing import app_client
from tests.conftest import KEYS
from tests.outcomes.webhooks.helpers import payload, post_jira

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Routes that read their body themselves (no requestBody in the OpenAPI document).
RAW_BODY_PATHS = {"/graphql"}


# Valid bodies: "valid + one unknown field" must be refused for that field alone, and the
# injection test puts hostile strings into them. A route missing here gets `{}`-based cases.
VALID_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/epics"): {"key": "SW-NEW", "title": "t"},
    ("PATCH", "/v1/epics/{ref}"): {"title": "t2"},
    ("POST", "/v1/kpis"): {
        "slug": "sw-new",
        "name": "n",
        "unit": "percent",
        "direction": "increase",
        "cadence": "monthly",
    },
    ("PATCH", "/v1/kpis/{slug}"): {"name": "n2"},
    ("PUT", "/v1/kpis/{slug}/baseline"): {"value": "2", "as_of": "2026-01-31"},
    ("POST", "/v1/kpis/{slug}/measurements"): {"period": "2026-02", "value": "1"},
    ("POST", "/v1/epics/{ref}/contributions"): {"kpi": "sweep-kpi"},
    ("PATCH", "/v1/epics/{ref}/contributions/{kpi}"): {"claimed_share": "0.4"},
    ("POST", "/v1/embed-tokens"): {"filters": {}, "expires_in": 3600},
    ("POST", "/v1/epics/{ref}/scores"): {
        "period": "2026-Q2",
        "outcome_potential": 3,
        "time_to_value": 3,
        "risk": 3,
    },
    ("POST", "/v1/epics/{ref}/decisions"): {"decided_on": "2026-05-01", "decision": "continue"},
    ("POST", "/v1/subscriptions"): {
        "url": "https://portal.example/x",
        "event_types": ["epic.created"],
    },
    ("POST", "/v1/rulesets"): {"name": "n"},
    ("POST", "/v1/rulesets/{ruleset}/versions"): {
        "rules": {"currency": "USD"},
        "effective_from": "2026-01",
    },
    ("PATCH", "/v1/rulesets/{ruleset}/versions/{version}"): {"rules": {"currency": "EUR"}},
    ("POST", "/v1/rulesets/{ruleset}/versions/{version}/agree"): {},
    ("POST", "/v1/rulesets/{ruleset}/versions/{version}/reject"): {"reason": "r"},
    ("POST", "/v1/runs"): {"from": "2026-01", "to": "2026-03", "preview": True},
    ("POST", "/graphql"): {"query": "{ __typename }"},
}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str
    operation: dict[str, Any] | None  # the OpenAPI operation (None: not in the document)
    dependant: Any = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.service}:{self.method} {self.path}"

    @property
    def has_body(self) -> bool:
        return bool(self.operation and self.operation.get("requestBody")) or (
            self.path in RAW_BODY_PATHS
        )

    @property
    def body_required(self) -> bool:
        if self.path in RAW_BODY_PATHS:
            return True
        body = (self.operation or {}).get("requestBody") or {}
        schema = next(iter(body.get("content", {}).values()), {}).get("schema", {})
        nullable = any(s.get("type") == "null" for s in schema.get("anyOf", []))
        return bool(body.get("required", False)) and not nullable


def routes(service: str, app: FastAPI, methods: tuple[str, ...]) -> Iterator[Route]:
    """Every HTTP route of `app` answering one of `methods` (through included routers)."""
    doc = app.openapi()
    for ctx in iter_route_contexts(app.router.routes):
        for method in sorted((ctx.methods or set()) & set(methods)):
            path = str(ctx.path)
            op = doc.get("paths", {}).get(path, {}).get(method.lower())
            yield Route(service, method, path, op, getattr(ctx, "dependant", None))


def fill(path: str, values: dict[str, str]) -> str:
    out = path
    for name in _params(path):
        assert name in values, f"no real value for path parameter {name!r} of {path}: add one"
        out = out.replace("{" + name + "}", values[name])
    return out


def _params(path: str) -> list[str]:
    import re

    return re.findall(r"{([^}:]+)(?::[^}]*)?}", path)


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return resolve(doc, doc["components"]["schemas"][ref.rsplit("/", 1)[1]])
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return resolve(doc, option)
    return schema


def body_properties(doc: dict[str, Any], route: Route) -> dict[str, dict[str, Any]]:
    """{name: schema} of the body object's properties (a list body: of its items)."""
    body = (route.operation or {}).get("requestBody") or {}
    content = body.get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {}) if content else {}
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    for option in options:
        resolved = resolve(doc, option)
        if resolved.get("type") == "array":
            resolved = resolve(doc, resolved.get("items", {}))
        if resolved.get("properties"):
            return {k: resolve(doc, v) for k, v in resolved["properties"].items()}
    return {}


@dataclass
class World:
    outcomes: httpx.AsyncClient
    attribution: httpx.AsyncClient
    outcomes_app: FastAPI
    attribution_app: FastAPI
    values: dict[str, str]


def ok(r: httpx.Response, status: int) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


async def seed(
    outcomes: httpx.AsyncClient, attribution: httpx.AsyncClient, jira_secret: str | None = None
) -> dict[str, str]:
    """One of everything; returns a real value for every path parameter."""
    kpi = {"name": "Sweep", "unit": "percent", "direction": "increase", "cadence": "monthly"}
    ok(await outcomes.post("/v1/epics", json={"key": "SWEEP-1", "title": "Sweep"}), 201)
    ok(await outcomes.post("/v1/kpis", json={"slug": "sweep-kpi", **kpi}), 201)
    ok(
        await outcomes.put(
            "/v1/kpis/sweep-kpi/baseline", json={"value": "2", "as_of": "2026-01-31"}
        ),
        200,
    )
    ok(
        await outcomes.post(
            "/v1/kpis/sweep-kpi/measurements", json={"period": "2026-01", "value": "2.5"}
        ),
        201,
    )
    ok(
        await outcomes.post(
            "/v1/epics/SWEEP-1/contributions", json={"kpi": "sweep-kpi", "claimed_share": "0.5"}
        ),
        201,
    )
    score = ok(
        await outcomes.post(
            "/v1/epics/SWEEP-1/scores",
            json={"period": "2026-Q1", "outcome_potential": 3, "time_to_value": 3, "risk": 3},
        ),
        201,
    )
    decision = ok(
        await outcomes.post(
            "/v1/epics/SWEEP-1/decisions", json={"decided_on": "2026-02-01", "decision": "continue"}
        ),
        201,
    )
    subscription = ok(
        await outcomes.post(
            "/v1/subscriptions",
            json={"url": "https://portal.example/hooks", "event_types": ["epic.created"]},
        ),
        201,
    )
    jira = payload("jira/issue_created.json")
    delivery = ok(await post_jira(outcomes, jira, secret=jira_secret), 202)
    ruleset = ok(await attribution.post("/v1/rulesets", json={"name": "Sweep rules"}), 201)
    version = ok(
        await attribution.post(
            f"/v1/rulesets/{ruleset['id']}/versions",
            json={"rules": {"currency": "USD"}, "effective_from": "2026-01"},
        ),
        201,
    )
    run = ok(
        await attribution.post(
            "/v1/runs",
            json={"ruleset": ruleset["id"], "from": "2026-01", "to": "2026-03", "preview": True},
        ),
        201,
    )
    return {
        "ref": "SWEEP-1",
        "slug": "sweep-kpi",
        "kpi": "sweep-kpi",
        "score_id": score["id"],
        "decision_id": decision["id"],
        "subscription_id": subscription["id"],
        "delivery_id": delivery["delivery_id"],
        "ruleset": ruleset["id"],
        "version": str(version["version"]),
        "run_id": run["id"],
    }


@asynccontextmanager
async def world(
    outcomes_settings: Any,
    attribution_settings: Any,
    outcomes_update: dict[str, Any] | None = None,
    attribution_update: dict[str, Any] | None = None,
) -> AsyncIterator[World]:
    from attribution.app import create_app as create_attribution
    from outcomes.app import create_app as create_outcomes

    # No outbound deliveries (nothing leaves the machine, nothing changes behind our back).
    o_settings = outcomes_settings.model_copy(
        update={"outbound_interval": 0, **(outcomes_update or {})}
    )
    o_app = create_outcomes(o_settings)
    a_app = create_attribution(attribution_settings.model_copy(update=attribution_update or {}))
    async with (
        app_client(o_app, key=KEYS["admin"]) as o,
        app_client(a_app, key=KEYS["admin"]) as a,
    ):
        secret = o_settings.jira_webhook_secret.get_secret_value() or None
        yield World(o, a, o_app, a_app, await seed(o, a, secret))
