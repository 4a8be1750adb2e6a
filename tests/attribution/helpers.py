"""Builders for attribution tests: outcomes data through the outcomes REST API, rule sets
and runs through the attribution REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import KEYS

WORKED_RULES: dict[str, Any] = {
    "currency": "USD",
    "fx": {"EUR": "1.08"},
    "defaults": {
        "baseline": "agreed",
        "method": "baseline_delta",
        "split": "claimed",
        "confidence": "0.8",
        "cap_at_target": True,
        "allow_negative": False,
        "lag_periods": 0,
        "ramp": [],
    },
    "kpis": {
        "checkout-conversion": {
            "value_per_unit": {"amount": "8000000", "currency": "USD", "per": "year"}
        },
    },
}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


@dataclass
class Linked:
    outcomes: httpx.AsyncClient
    attribution: httpx.AsyncClient
    attribution_app: FastAPI
    outcomes_app: FastAPI

    @asynccontextmanager
    async def as_key(self, name: str) -> AsyncIterator[httpx.AsyncClient]:
        """The attribution app with another key (read, write, finance, admin)."""
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.attribution_app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {KEYS[name]}"},
        ) as client:
            yield client

    # --- outcomes side -------------------------------------------------------------------

    async def kpi(
        self,
        slug: str,
        *,
        baseline: str | None,
        target: str | None = None,
        direction: str = "increase",
        cadence: str = "monthly",
        stream: str = "Revenue",
        unit: str = "percent",
        value_per_unit: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "slug": slug,
            "name": slug.replace("-", " "),
            "stream": stream,
            "unit": unit,
            "direction": direction,
            "cadence": cadence,
        }
        if target is not None:
            body["target"] = {"value": target, "due": "2026-12-31"}
        if value_per_unit is not None:
            body["value_per_unit"] = value_per_unit
        kpi = ok(await self.outcomes.post("/v1/kpis", json=body), 201)
        if baseline is not None:
            kpi = ok(
                await self.outcomes.put(
                    f"/v1/kpis/{slug}/baseline",
                    json={
                        "value": baseline,
                        "as_of": "2026-01-31",
                        "source": "finance",
                        "agreed_by": "cfo",
                    },
                )
            )
        return kpi  # type: ignore[no-any-return]

    async def epic(
        self,
        key: str,
        *,
        cost: str | None = None,
        currency: str = "USD",
        start: str | None = None,
        team: str = "Payments",
        streams: tuple[str, ...] = ("Revenue",),
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "key": key,
            "title": f"Epic {key}",
            "streams": list(streams),
            "team": team,
            "status": "active",
        }
        if cost is not None:
            body["planned_cost"] = {"amount": cost, "currency": currency}
        if start is not None:
            body["start_date"] = start
        return ok(await self.outcomes.post("/v1/epics", json=body), 201)  # type: ignore[no-any-return]

    async def contribute(
        self,
        epic: str,
        kpi: str,
        *,
        share: str | None = None,
        expected_uplift: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"kpi": kpi}
        if share is not None:
            body["claimed_share"] = share
        if expected_uplift is not None:
            body["expected_uplift"] = expected_uplift
        return ok(  # type: ignore[no-any-return]
            await self.outcomes.post(f"/v1/epics/{epic}/contributions", json=body), 201
        )

    async def measure(self, kpi: str, values: dict[str, str], segment: str = "all") -> Any:
        body = [{"period": p, "value": v, "segment": segment} for p, v in values.items()]
        return ok(await self.outcomes.post(f"/v1/kpis/{kpi}/measurements", json=body), 201)

    # --- attribution side ----------------------------------------------------------------

    async def sync(self) -> dict[str, Any]:
        return ok(await self.attribution.post("/v1/sync"))  # type: ignore[no-any-return]

    async def agreed_ruleset(
        self,
        rules: dict[str, Any],
        *,
        name: str = "Finance FY26",
        effective_from: str = "2026-01",
    ) -> tuple[str, int]:
        rs = ok(await self.attribution.post("/v1/rulesets", json={"name": name}), 201)
        v = ok(
            await self.attribution.post(
                f"/v1/rulesets/{rs['id']}/versions",
                json={"rules": rules, "effective_from": effective_from},
            ),
            201,
        )
        base = f"/v1/rulesets/{rs['id']}/versions/{v['version']}"
        ok(await self.attribution.post(f"{base}/propose"))
        ok(await self.attribution.post(f"{base}/agree"))
        return rs["id"], v["version"]

    async def run(self, ruleset: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
        body = {"ruleset": ruleset, "from": start, "to": end, **extra}
        return ok(await self.attribution.post("/v1/runs", json=body), 201)  # type: ignore[no-any-return]

    async def lines(self, run_id: str, **filters: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 500, **filters}
            if cursor:
                params["cursor"] = cursor
            page = ok(await self.attribution.get(f"/v1/runs/{run_id}/lines", params=params))
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items
