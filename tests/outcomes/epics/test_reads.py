"""The fast read path (Core rows → orjson) answers byte for byte what the pydantic models
(`EpicRead`, `EpicPage`) would, for every kind of epic the API can hold."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import orjson
from pydantic import TypeAdapter
from sqlalchemy import select, update

from ledgerkit.db import Database
from ledgerkit.fastjson import dumps
from outcomes.epics import reads, service
from outcomes.epics.schemas import EpicFilters, EpicPage, EpicRead
from outcomes.models import Epic

FULL_HYPOTHESIS = {
    "statement": 'Offers at checkout raise "basket" size \u2014 caf\u00e9 \u00fc \U0001f4b0',
    "for_whom": "returning buyers\n\ttabbed\x01",
    "economic_logic": None,
    "assumptions": ["a", "b\\c"],
    "risks": [],
    "leading_indicators": ["ctr"],
    "lagging_indicators": [],
    "proof_plan": {"days": 30, "stop_if": "ctr < 1%", "scale_if": None},
}


async def _seed(client: httpx.AsyncClient) -> None:
    bodies = [
        {"key": "R-1", "title": "Minimal"},
        {
            "key": "R-2",
            "title": "Everything \u00e9\u4e2d",
            "streams": ["cx", "Revenue"],
            "status": "active",
            "owner": "Ana",
            "team": "Payments",
            "planned_cost": {"amount": "500000", "currency": "USD"},
            "start_date": "2026-01-01",
            "target_date": "2026-06-30",
            "hypothesis": FULL_HYPOTHESIS,
            "change_type": "transformative",
            "sponsor": "Bo",
            "labels": ["x", "y"],
        },
        {"key": "R-3", "title": "Partial hypothesis", "hypothesis": {"statement": "s"}},
        {"key": "R-4", "title": "Cents", "planned_cost": {"amount": "0.10", "currency": "EUR"}},
        {"key": "R-5", "title": "Archived", "status": "archived"},
        {"key": "R-6", "title": "No plan", "hypothesis": {"proof_plan": {"days": 7}}},
    ]
    for body in bodies:
        r = await client.post("/v1/epics", json=body)
        assert r.status_code == 201, r.text


async def _oddities(db: Database) -> None:
    """Rows the API would not write today but a migration or an older version might have:
    a hypothesis in another key order / with missing keys, whole-second timestamps,
    warnings of any JSON shape, a negative-zero amount."""
    async with db.session(write=True) as s:
        await s.execute(
            update(Epic)
            .where(Epic.key == "R-1")
            .values(
                hypothesis={"risks": ["r"], "statement": "reordered"},
                warnings=[{"code": "unknown-kpi", "n": 1.5, "ok": True}, "text", 3],
                created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                updated_at=datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
            )
        )
        await s.execute(
            update(Epic)
            .where(Epic.key == "R-4")
            .values(
                planned_cost_amount=Decimal("-0.00"),
                hypothesis={"proof_plan": {"stop_if": None, "days": 3, "scale_if": None}},
            )
        )
        await s.execute(update(Epic).where(Epic.key == "R-3").values(hypothesis={}))


async def test_fast_reads_equal_pydantic(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    await _seed(outcomes_client)
    db = Database(database_urls["outcomes"])
    read_json = TypeAdapter(EpicRead).dump_json
    page_json = TypeAdapter(EpicPage).dump_json
    try:
        await _oddities(db)
        async with db.session() as s:
            epics = (await s.scalars(select(Epic).order_by(Epic.pk))).all()
            assert len(epics) == 6
            for epic in epics:
                model = service.epic_read(epic)
                fast = await reads.get_by_ref(s, epic.key)
                assert fast is not None
                assert dumps(fast) == read_json(model)
                assert orjson.loads(dumps(fast)) == model.model_dump(mode="json")
                assert reads.epic_json_of(epic) == model.model_dump(mode="json")
            for limit in (1, 4, 10):
                filters = EpicFilters(include_archived=True)
                rows, cursor = await service.list_epics(s, filters, limit, None)
                expected = EpicPage(items=[service.epic_read(e) for e in rows], next_cursor=cursor)
                fast_page = await reads.list_page(s, filters, after_pk=None, limit=limit)
                assert dumps(fast_page) == page_json(expected)
    finally:
        await db.dispose()

    # And over HTTP: the same bytes, the ETag, a 404 as before.
    r = await outcomes_client.get("/v1/epics/R-2")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    assert r.json()["planned_cost"] == {"amount": "500000.00", "currency": "USD"}
    r = await outcomes_client.get("/v1/epics?limit=2&include_archived=true")
    page = r.json()
    assert [e["key"] for e in page["items"]] == ["R-1", "R-2"] and page["next_cursor"]
    r = await outcomes_client.get("/v1/epics", params={"cursor": page["next_cursor"]})
    assert [e["key"] for e in r.json()["items"]] == ["R-3", "R-4", "R-6"]
    r = await outcomes_client.get("/v1/epics/NOPE-1")
    assert r.status_code == 404 and r.json()["ref"] == "NOPE-1"
