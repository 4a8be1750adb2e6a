"""KPIs over HTTP: create, list, read, merge-patch, the finance-agreed baseline."""

from __future__ import annotations

import httpx
import pytest

from ledgerkit.testing import app_client
from outcomes.app import create_app
from tests.conftest import KEYS
from tests.outcomes.builders import agree_baseline, make_kpi, record_measurements

FULL = {
    "slug": "checkout-conversion",
    "name": "Checkout conversion",
    "stream": "revenue",
    "unit": "percent",
    "direction": "increase",
    "cadence": "monthly",
    "target": {"value": 3.3, "due": "2026-06-30"},
    "value_per_unit": {"amount": "8000000", "currency": "USD", "per": "year"},
    "owners": ["marketing", "it"],
}


async def _changes(client: httpx.AsyncClient, entity: str) -> list[dict]:  # type: ignore[type-arg]
    items = (await client.get("/v1/changes", params={"limit": 5000})).json()["items"]
    return [c for c in items if c["entity"] == entity]


async def test_create_and_read(outcomes_client: httpx.AsyncClient) -> None:
    r = await outcomes_client.post("/v1/kpis", json=FULL)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/v1/kpis/checkout-conversion"
    assert r.headers["etag"] == '"1"'
    kpi = r.json()
    assert kpi["stream"] == "Revenue"
    assert kpi["target"] == {"value": "3.3", "due": "2026-06-30"}
    assert kpi["value_per_unit"] == {"amount": "8000000", "currency": "USD", "per": "year"}
    assert kpi["owners"] == ["marketing", "it"]
    assert kpi["scorecard_line"] == "financial"
    assert kpi["baseline"] is None
    assert kpi["version"] == 1
    assert kpi["created_at"].endswith("Z")

    got = await outcomes_client.get("/v1/kpis/checkout-conversion")
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    assert got.json() == kpi

    (change,) = await _changes(outcomes_client, "kpi")
    assert change["action"] == "created"
    assert change["entity_id"] == "checkout-conversion"
    assert change["data"] == kpi
    assert change["actor"].startswith("env:")


@pytest.mark.parametrize(
    ("stream", "line"),
    [
        ("Revenue", "financial"),
        ("COST", "financial"),
        ("cx", "customer"),
        ("Risk", "risk"),
        (None, "operational"),
    ],
)
async def test_scorecard_line_defaults(
    outcomes_client: httpx.AsyncClient, stream: str | None, line: str
) -> None:
    kpi = await make_kpi(outcomes_client, "k", stream=stream)
    assert kpi["scorecard_line"] == line
    explicit = await make_kpi(outcomes_client, "k2", stream=stream, scorecard_line="operational")
    assert explicit["scorecard_line"] == "operational"


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"slug": "Bad Slug"}, ["body", "slug"]),
        ({"slug": "-lead"}, ["body", "slug"]),
        ({"slug": "x" * 101}, ["body", "slug"]),
        ({"stream": "Marketing"}, ["body", "stream"]),
        ({"unit": "dollars"}, ["body", "unit"]),
        ({"direction": "up"}, ["body", "direction"]),
        ({"cadence": "weekly"}, ["body", "cadence"]),
        ({"scorecard_line": "board"}, ["body", "scorecard_line"]),
        ({"target": {"value": "NaN"}}, ["body", "target", "value"]),
        ({"target": {"value": "Infinity"}}, ["body", "target", "value"]),
        (
            {"value_per_unit": {"amount": "1", "currency": "usd"}},
            ["body", "value_per_unit", "currency"],
        ),
        (
            {"value_per_unit": {"amount": "1", "currency": "USD", "per": "week"}},
            ["body", "value_per_unit", "per"],
        ),
        ({"colour": "red"}, ["body", "colour"]),
        ({"baseline": {"value": "2.1"}}, ["body"]),
    ],
)
async def test_create_rejects_bad_input(
    outcomes_client: httpx.AsyncClient,
    patch: dict,
    loc: list,  # type: ignore[type-arg]
) -> None:
    r = await outcomes_client.post("/v1/kpis", json={**FULL, **patch})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["loc"][: len(loc)] == loc
    assert (await outcomes_client.get("/v1/kpis")).json()["items"] == []


async def test_unknown_stream_lists_allowed_values(outcomes_client: httpx.AsyncClient) -> None:
    r = await outcomes_client.post("/v1/kpis", json={**FULL, "stream": "Marketing"})
    assert "Revenue, Cost, Risk, CX" in r.json()["detail"]


async def test_nan_as_json_number_is_422(outcomes_client: httpx.AsyncClient) -> None:
    body = (
        '{"slug": "k", "name": "K", "unit": "count", "direction": "increase",'
        ' "target": {"value": NaN}}'
    )
    r = await outcomes_client.post(
        "/v1/kpis", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code in (400, 422), r.text


async def test_duplicate_slug_is_409(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.post(
        "/v1/kpis", json={"slug": "k", "name": "K", "unit": "count", "direction": "increase"}
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("duplicate-kpi-slug")


async def test_unknown_kpi_is_404(outcomes_client: httpx.AsyncClient) -> None:
    for r in (
        await outcomes_client.get("/v1/kpis/nope"),
        await outcomes_client.patch("/v1/kpis/nope", json={"name": "x"}),
        await outcomes_client.put(
            "/v1/kpis/nope/baseline", json={"value": "1", "as_of": "2026-01-01"}
        ),
    ):
        assert r.status_code == 404
        assert r.json()["type"].endswith("kpi-not-found")


async def test_list_filters_and_pages(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "checkout-conversion", name="Checkout conversion")
    await make_kpi(
        outcomes_client,
        "cost-per-ticket",
        name="Cost per ticket",
        stream="Cost",
        unit="currency",
        direction="decrease",
    )
    await make_kpi(
        outcomes_client,
        "nps",
        name="Net promoter score",
        stream="CX",
        unit="score",
        cadence="quarterly",
    )
    await make_kpi(
        outcomes_client,
        "lead-time",
        name="Lead time",
        stream=None,
        unit="seconds",
        direction="decrease",
    )

    async def slugs(**params: str | int) -> list[str]:
        r = await outcomes_client.get("/v1/kpis", params=params)
        assert r.status_code == 200, r.text
        return [k["slug"] for k in r.json()["items"]]

    assert await slugs() == ["checkout-conversion", "cost-per-ticket", "nps", "lead-time"]
    assert await slugs(stream="cx") == ["nps"]
    assert await slugs(scorecard_line="financial") == ["checkout-conversion", "cost-per-ticket"]
    assert await slugs(scorecard_line="operational") == ["lead-time"]
    assert await slugs(q="TICKET") == ["cost-per-ticket"]
    assert await slugs(q="%") == []
    assert (await outcomes_client.get("/v1/kpis", params={"stream": "x"})).status_code == 422

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await outcomes_client.get("/v1/kpis", params=params)).json()
        seen += [k["slug"] for k in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["checkout-conversion", "cost-per-ticket", "nps", "lead-time"]
    bad = await outcomes_client.get("/v1/kpis", params={"cursor": "garbage!"})
    assert bad.status_code == 422


async def test_patch_merges_and_bumps_version(outcomes_client: httpx.AsyncClient) -> None:
    await outcomes_client.post("/v1/kpis", json=FULL)
    r = await outcomes_client.patch(
        "/v1/kpis/checkout-conversion",
        json={"name": "Checkout conversion rate", "target": {"value": "3.5"}, "owners": ["it"]},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    kpi = r.json()
    assert kpi["name"] == "Checkout conversion rate"
    assert kpi["target"] == {"value": "3.5", "due": "2026-06-30"}  # due kept (merge patch)
    assert kpi["owners"] == ["it"]
    assert kpi["version"] == 2

    # Stale If-Match → 412 with the current ETag; nothing changes.
    stale = await outcomes_client.patch(
        "/v1/kpis/checkout-conversion", json={"name": "x"}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"2"'
    assert (await outcomes_client.get("/v1/kpis/checkout-conversion")).json()["name"] == (
        "Checkout conversion rate"
    )

    # null clears an optional member; stream change moves a default scorecard line along.
    r = await outcomes_client.patch(
        "/v1/kpis/checkout-conversion", json={"value_per_unit": None, "stream": "CX"}
    )
    kpi = r.json()
    assert kpi["value_per_unit"] is None
    assert kpi["stream"] == "CX"
    assert kpi["scorecard_line"] == "customer"

    # An empty patch changes nothing and logs nothing.
    same = await outcomes_client.patch("/v1/kpis/checkout-conversion", json={})
    assert same.json()["version"] == 3
    actions = [c["action"] for c in await _changes(outcomes_client, "kpi")]
    assert actions == ["created", "updated", "updated"]


@pytest.mark.parametrize(
    "patch",
    [
        {"baseline": {"value": "1.0"}},
        {"slug": "other"},
        {"name": None},
        {"unit": None},
        {"target": {"due": "2026-12-31"}},  # merged target lacks a value
        {"target": {"value": "NaN"}},
        {"owners": "it"},
    ],
)
async def test_patch_rejects(outcomes_client: httpx.AsyncClient, patch: dict) -> None:  # type: ignore[type-arg]
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.patch("/v1/kpis/k", json=patch)
    assert r.status_code == 422, r.text
    assert (await outcomes_client.get("/v1/kpis/k")).json()["version"] == 1


async def test_patch_baseline_message(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.patch("/v1/kpis/k", json={"baseline": {"value": "1.0"}})
    assert "PUT /v1/kpis/{slug}/baseline" in r.json()["detail"]


async def test_cadence_change_refused_once_measured(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.patch("/v1/kpis/k", json={"cadence": "quarterly"})
    assert r.status_code == 200
    await record_measurements(outcomes_client, "k", {"2026-Q1": "1"})
    r = await outcomes_client.patch("/v1/kpis/k", json={"cadence": "monthly"})
    assert r.status_code == 409
    assert r.json()["type"].endswith("kpi-cadence-in-use")


async def test_agree_baseline(outcomes_client: httpx.AsyncClient) -> None:
    await outcomes_client.post("/v1/kpis", json=FULL)
    r = await outcomes_client.put(
        "/v1/kpis/checkout-conversion/baseline",
        json={"value": 2.1, "as_of": "2026-01-31", "source": "GA4", "agreed_by": "CFO"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    baseline = r.json()["baseline"]
    assert baseline["value"] == "2.1"
    assert baseline["as_of"] == "2026-01-31"
    assert baseline["source"] == "GA4"
    assert baseline["agreed_by"] == "CFO"
    assert baseline["agreed_at"].endswith("Z")
    changes = await _changes(outcomes_client, "kpi")
    assert [c["action"] for c in changes] == ["created", "baseline_agreed"]
    assert changes[-1]["data"]["baseline"] == baseline

    # agreed_by defaults to the key's name; a stale If-Match → 412.
    kpi = await agree_baseline(outcomes_client, "checkout-conversion", "2.2", agreed_by=None)
    assert kpi["baseline"]["agreed_by"].startswith("env:")
    stale = await outcomes_client.put(
        "/v1/kpis/checkout-conversion/baseline",
        json={"value": "2", "as_of": "2026-01-31"},
        headers={"If-Match": '"1"'},
    )
    assert stale.status_code == 412


@pytest.mark.parametrize(
    "body",
    [
        {"value": "NaN", "as_of": "2026-01-31"},
        {"value": "2.1"},
        {"value": "2.1", "as_of": "yesterday"},
        {"value": "2.1", "as_of": "2026-01-31", "agreed_at": "2026-01-01T00:00:00Z"},
    ],
)
async def test_baseline_rejects(outcomes_client: httpx.AsyncClient, body: dict) -> None:  # type: ignore[type-arg]
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.put("/v1/kpis/k/baseline", json=body)
    assert r.status_code == 422, r.text


async def test_scopes(outcomes_settings: object) -> None:
    app = create_app(outcomes_settings)  # type: ignore[arg-type]
    async with app_client(app, key=KEYS["write"]) as writer:
        await make_kpi(writer, "k")
        r = await writer.put("/v1/kpis/k/baseline", json={"value": "1", "as_of": "2026-01-01"})
        assert r.status_code == 403
    async with app_client(create_app(outcomes_settings), key=KEYS["finance"]) as finance:  # type: ignore[arg-type]
        r = await finance.put("/v1/kpis/k/baseline", json={"value": "1", "as_of": "2026-01-01"})
        assert r.status_code == 200
    async with app_client(create_app(outcomes_settings), key=KEYS["read"]) as reader:  # type: ignore[arg-type]
        assert (await reader.get("/v1/kpis/k")).status_code == 200
        r = await reader.post(
            "/v1/kpis", json={"slug": "x", "name": "x", "unit": "count", "direction": "increase"}
        )
        assert r.status_code == 403
    async with app_client(create_app(outcomes_settings)) as anonymous:  # type: ignore[arg-type]
        assert (await anonymous.get("/v1/kpis")).status_code == 401
