"""The change log's hash chain: appended in the writer's transaction, verifiable, tamper-evident."""

from __future__ import annotations

import asyncio
import itertools

import httpx
from sqlalchemy import update

from ledgerkit.db import Database
from outcomes.changes.service import record_change
from outcomes.models import Change


async def _append(db: Database, n: int, entity: str = "epic") -> None:
    async with db.session(write=True) as s:
        for i in range(n):
            record_change(
                s, actor="t", entity=entity, entity_id=f"e{i}", action="created", data={"i": i}
            )


async def test_chain_feed_and_verify(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    db = Database(database_urls["outcomes"])
    try:
        await _append(db, 3)
        # A rolled-back transaction leaves no entry and no gap.
        try:
            async with db.session(write=True) as s:
                record_change(s, actor="t", entity="epic", entity_id="x", action="created", data={})
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        await asyncio.gather(*(_append(db, 2, f"k{i}") for i in range(5)))
    finally:
        await db.dispose()

    r = await outcomes_client.get("/v1/changes", params={"after": 0, "limit": 5})
    assert r.status_code == 200
    page = r.json()
    assert [c["seq"] for c in page["items"]] == [1, 2, 3, 4, 5]
    assert page["next_after"] == 5
    assert page["head"] == 13
    rest = (await outcomes_client.get("/v1/changes", params={"after": 5})).json()
    assert [c["seq"] for c in rest["items"]] == list(range(6, 14))
    assert all(c["prev_hash"] == p["hash"] for p, c in itertools.pairwise(page["items"]))

    v = (await outcomes_client.get("/v1/audit/verify")).json()
    assert v == {
        "ok": True,
        "length": 13,
        "head": rest["items"][-1]["hash"],
        "first_broken_seq": None,
        "reason": None,
    }


async def test_tampered_entry_is_detected(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    db = Database(database_urls["outcomes"])
    try:
        await _append(db, 4)
        async with db.session(write=True) as s:
            await s.execute(update(Change).where(Change.seq == 3).values(data={"i": 99}))
    finally:
        await db.dispose()
    v = (await outcomes_client.get("/v1/audit/verify")).json()
    assert v["ok"] is False
    assert v["first_broken_seq"] == 3
    assert v["length"] == 2
    assert "modified" in v["reason"]
