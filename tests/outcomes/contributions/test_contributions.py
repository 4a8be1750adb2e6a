"""Contributions over HTTP: links, merge-patch, delete, and the overlap guard (incl. races)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ledgerkit.db import create_engine
from tests.outcomes.builders import make_contribution, make_epic, make_kpi


async def _sql(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def _changes(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items = (await client.get("/v1/changes", params={"limit": 5000})).json()["items"]
    return [c for c in items if c["entity"] == "contribution"]


async def test_create_read_list_patch_delete(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="PAY-12")
    await make_kpi(outcomes_client, "checkout-conversion")
    await make_kpi(outcomes_client, "aov")
    r = await outcomes_client.post(
        "/v1/epics/PAY-12/contributions",
        json={
            "kpi": "checkout-conversion",
            "expected_uplift": 1.2,
            "expected_by": "2026-06-30",
            "claimed_share": "0.60",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == {
        "epic_id": epic["id"],
        "epic": "PAY-12",
        "kpi": "checkout-conversion",
        "expected_uplift": "1.2",
        "expected_by": "2026-06-30",
        "claimed_share": "0.6",
        "version": 1,
    }
    assert r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"/v1/epics/{epic['id']}/contributions/checkout-conversion"
    await make_contribution(outcomes_client, epic["id"], "aov")  # by id; share optional

    page = (await outcomes_client.get("/v1/epics/PAY-12/contributions")).json()
    assert [c["kpi"] for c in page["items"]] == ["checkout-conversion", "aov"]
    assert page["items"][1]["claimed_share"] is None
    one = (await outcomes_client.get("/v1/epics/PAY-12/contributions", params={"limit": 1})).json()
    assert len(one["items"]) == 1
    assert one["next_cursor"]

    got = await outcomes_client.get("/v1/epics/PAY-12/contributions/checkout-conversion")
    assert got.json() == created

    r = await outcomes_client.patch(
        "/v1/epics/PAY-12/contributions/checkout-conversion",
        json={"claimed_share": 0.5, "expected_by": None},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["claimed_share"] == "0.5"
    assert r.json()["expected_by"] is None
    assert r.json()["expected_uplift"] == "1.2"
    assert r.headers["etag"] == '"2"'
    stale = await outcomes_client.patch(
        "/v1/epics/PAY-12/contributions/checkout-conversion",
        json={"claimed_share": 0.4},
        headers={"If-Match": '"1"'},
    )
    assert stale.status_code == 412

    stale_delete = await outcomes_client.delete(
        "/v1/epics/PAY-12/contributions/checkout-conversion", headers={"If-Match": '"1"'}
    )
    assert stale_delete.status_code == 412
    r = await outcomes_client.delete(
        "/v1/epics/PAY-12/contributions/checkout-conversion", headers={"If-Match": '"2"'}
    )
    assert r.status_code == 204
    gone = await outcomes_client.get("/v1/epics/PAY-12/contributions/checkout-conversion")
    assert gone.status_code == 404
    assert gone.json()["type"].endswith("contribution-not-found")

    changes = await _changes(outcomes_client)
    assert [(c["entity_id"], c["action"]) for c in changes] == [
        (f"{epic['id']}:checkout-conversion", "created"),
        (f"{epic['id']}:aov", "created"),
        (f"{epic['id']}:checkout-conversion", "updated"),
        (f"{epic['id']}:checkout-conversion", "deleted"),
    ]
    assert changes[0]["data"] == created
    assert changes[-1]["data"]["claimed_share"] == "0.5"


async def test_duplicate_link_is_409(outcomes_client: httpx.AsyncClient) -> None:
    await make_epic(outcomes_client, key="PAY-12")
    await make_kpi(outcomes_client, "k")
    await make_contribution(outcomes_client, "PAY-12", "k")
    r = await outcomes_client.post("/v1/epics/PAY-12/contributions", json={"kpi": "k"})
    assert r.status_code == 409
    assert r.json()["type"].endswith("duplicate-contribution")
    assert "PATCH" in r.json()["detail"]


async def test_unknown_epic_or_kpi_is_404(outcomes_client: httpx.AsyncClient) -> None:
    await make_epic(outcomes_client, key="PAY-12")
    r = await outcomes_client.post("/v1/epics/NOPE-1/contributions", json={"kpi": "k"})
    assert r.status_code == 404
    assert r.json()["type"].endswith("epic-not-found")
    r = await outcomes_client.post("/v1/epics/PAY-12/contributions", json={"kpi": "nope"})
    assert r.status_code == 404
    assert r.json()["type"].endswith("kpi-not-found")
    assert (await outcomes_client.delete("/v1/epics/PAY-12/contributions/nope")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"kpi": "k", "claimed_share": "1.01"},
        {"kpi": "k", "claimed_share": -0.1},
        {"kpi": "k", "claimed_share": "NaN"},
        {"kpi": "k", "claimed_share": "abc"},
        {"kpi": "k", "expected_uplift": "Infinity"},
        {"kpi": "k", "expected_by": "soon"},
        {"kpi": "k", "weight": 1},
        {},
    ],
)
async def test_bad_input_is_422(outcomes_client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    await make_epic(outcomes_client, key="PAY-12")
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.post("/v1/epics/PAY-12/contributions", json=body)
    assert r.status_code == 422, r.text
    assert (await outcomes_client.get("/v1/epics/PAY-12/contributions")).json()["items"] == []


async def test_overlap_guard_names_kpi_sum_and_holders(outcomes_client: httpx.AsyncClient) -> None:
    for key in ("PAY-12", "WEB-7", "APP-3"):
        await make_epic(outcomes_client, key=key)
    await make_kpi(outcomes_client, "checkout-conversion")
    await make_contribution(outcomes_client, "PAY-12", "checkout-conversion", claimed_share="0.6")
    await make_contribution(outcomes_client, "WEB-7", "checkout-conversion", claimed_share="0.4")
    r = await outcomes_client.post(
        "/v1/epics/APP-3/contributions", json={"kpi": "checkout-conversion", "claimed_share": 0.1}
    )
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"].endswith("overlap-guard")
    assert problem["kpi"] == "checkout-conversion"
    assert problem["current_sum"] == "1"
    assert problem["requested"] == "0.1"
    assert problem["available"] == "0"
    assert [(h["epic"], h["claimed_share"]) for h in problem["holders"]] == [
        ("PAY-12", "0.6"),
        ("WEB-7", "0.4"),
    ]
    assert "checkout-conversion" in problem["detail"]
    assert "PAY-12" in problem["detail"]

    # A link without a share (or with 0) always fits.
    await make_contribution(outcomes_client, "APP-3", "checkout-conversion")
    # Raising one's own share is checked against the others only.
    r = await outcomes_client.patch(
        "/v1/epics/PAY-12/contributions/checkout-conversion", json={"claimed_share": "0.7"}
    )
    assert r.status_code == 409
    assert r.json()["current_sum"] == "0.4"
    assert r.json()["requested"] == "0.7"
    r = await outcomes_client.patch(
        "/v1/epics/PAY-12/contributions/checkout-conversion", json={"claimed_share": "0.5"}
    )
    assert r.status_code == 200
    r = await outcomes_client.patch(
        "/v1/epics/APP-3/contributions/checkout-conversion", json={"claimed_share": "0.1"}
    )
    assert r.status_code == 200
    # Deleting a link releases its share.
    await outcomes_client.delete("/v1/epics/WEB-7/contributions/checkout-conversion")
    r = await outcomes_client.patch(
        "/v1/epics/APP-3/contributions/checkout-conversion", json={"claimed_share": "0.5"}
    )
    assert r.status_code == 200


async def test_archived_epics_keep_their_share(outcomes_client: httpx.AsyncClient) -> None:
    await make_epic(outcomes_client, key="OLD-1")
    await make_epic(outcomes_client, key="NEW-1")
    await make_kpi(outcomes_client, "k")
    await make_contribution(outcomes_client, "OLD-1", "k", claimed_share="0.8")
    assert (await outcomes_client.delete("/v1/epics/OLD-1")).status_code == 204
    r = await outcomes_client.post(
        "/v1/epics/NEW-1/contributions", json={"kpi": "k", "claimed_share": "0.3"}
    )
    assert r.status_code == 409
    assert r.json()["holders"][0]["archived"] is True


async def test_concurrent_claims_never_exceed_one(
    outcomes_client: httpx.AsyncClient, database_urls: dict[str, str]
) -> None:
    await make_kpi(outcomes_client, "k")
    keys = [f"E-{i}" for i in range(10)]
    for key in keys:
        await make_epic(outcomes_client, key=key)

    async def claim(key: str) -> httpx.Response:
        return await outcomes_client.post(
            f"/v1/epics/{key}/contributions", json={"kpi": "k", "claimed_share": "0.3"}
        )

    results = await asyncio.gather(*(claim(k) for k in keys))
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * 3 + [409] * 7
    rows = await _sql(
        database_urls["outcomes"],
        "SELECT c.claimed_share FROM contributions c JOIN kpis k ON k.pk = c.kpi_pk "
        "WHERE k.slug = 'k'",
    )
    total = sum((Decimal(str(share)) for (share,) in rows), Decimal(0))
    assert total <= 1
    assert total == Decimal("0.9")
