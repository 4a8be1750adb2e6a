"""Small typed builders: create entities through the HTTP API (append new builders below)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

_seq = itertools.count(1)


async def make_epic(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """POST /v1/epics with a unique key; returns the created epic (asserts 201)."""
    n = next(_seq)
    body: dict[str, Any] = {"key": f"EP-{n}", "title": f"Epic {n}"}
    body.update(overrides)
    r = await client.post("/v1/epics", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


# --- KPIs, measurements, contributions -------------------------------------------------


async def make_kpi(
    client: httpx.AsyncClient, slug: str = "checkout-conversion", **fields: Any
) -> dict[str, Any]:
    """POST /v1/kpis (monthly, percent, increase, Revenue unless overridden); asserts 201."""
    body: dict[str, Any] = {
        "slug": slug,
        "name": fields.pop("name", slug.replace("-", " ").capitalize()),
        "stream": "Revenue",
        "unit": "percent",
        "direction": "increase",
        "cadence": "monthly",
    }
    body.update(fields)
    r = await client.post("/v1/kpis", json=body)
    assert r.status_code == 201, r.text
    kpi: dict[str, Any] = r.json()
    return kpi


async def agree_baseline(
    client: httpx.AsyncClient,
    slug: str,
    value: str = "2.1",
    as_of: str = "2026-01-31",
    **fields: Any,
) -> dict[str, Any]:
    """PUT /v1/kpis/{slug}/baseline (needs a finance-scoped client); returns the KPI."""
    body: dict[str, Any] = {"value": value, "as_of": as_of, "source": "BI", "agreed_by": "CFO"}
    body.update(fields)
    r = await client.put(f"/v1/kpis/{slug}/baseline", json=body)
    assert r.status_code == 200, r.text
    kpi: dict[str, Any] = r.json()
    return kpi


async def record_measurements(
    client: httpx.AsyncClient, slug: str, rows: dict[str, str] | list[dict[str, Any]]
) -> dict[str, int]:
    """POST `{period: value}` (segment `all`) or a list of measurement objects; asserts 201."""
    body = [{"period": p, "value": v} for p, v in rows.items()] if isinstance(rows, dict) else rows
    r = await client.post(f"/v1/kpis/{slug}/measurements", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, int] = r.json()
    return result


async def make_contribution(
    client: httpx.AsyncClient, epic: str, kpi: str, **fields: Any
) -> dict[str, Any]:
    """POST /v1/epics/{epic}/contributions; asserts 201."""
    r = await client.post(f"/v1/epics/{epic}/contributions", json={"kpi": kpi, **fields})
    assert r.status_code == 201, r.text
    contribution: dict[str, Any] = r.json()
    return contribution
