"""The cheap paths of the change log agree with the reference ones: the hash over
precomputed bytes is `entry_hash`, and the feed page is what `ChangePage` would write."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import orjson
from sqlalchemy import select

from ledgerkit.db import Database
from ledgerkit.timeutil import as_utc, iso_utc
from outcomes.changes.chain import EntryBody, canonical, entry_hash
from outcomes.changes.schemas import ChangePage, ChangeRead
from outcomes.changes.service import record_change
from outcomes.models import Change

SAMPLES = [
    {},
    {"i": 1, "b": [1, 2.5, None, True], "a": {"z": "\u00e9\u4e2d\U0001f4b0", "y": 'q"\\\n\x01'}},
    {"amount": "128000.00", "nested": {"k": [{"b": 1, "a": 2}]}, "f": 1e-7},
]


def test_entry_body_bytes_are_the_canonical_entry() -> None:
    at = datetime(2026, 4, 1, 10, 15, 30, 123456, tzinfo=UTC)
    for n, data in enumerate(SAMPLES):
        kwargs = {
            "actor": "jira\u00e9",
            "entity": "epic",
            "entity_id": f'e"{n}',
            "action": "created",
        }
        body = EntryBody.of(data=data, **kwargs)
        seq = 10**n + 7
        whole = canonical({"seq": seq, "at": iso_utc(at), "data": data, **kwargs})
        assert (
            body.head + orjson.dumps(iso_utc(at)) + body.middle + str(seq).encode() + b"}" == whole
        )
        assert body.hash(seq=seq, at_json=orjson.dumps(iso_utc(at)), prev_hash="ab" * 32) == (
            entry_hash(seq=seq, at=at, data=data, prev_hash="ab" * 32, **kwargs)
        )


async def test_feed_page_is_the_pydantic_page(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    db = Database(database_urls["outcomes"])
    try:
        async with db.session(write=True) as s:
            for i, data in enumerate(SAMPLES * 3):
                record_change(
                    s, actor="t", entity="kpi", entity_id=f"k{i}", action="updated", data=data
                )
        async with db.session() as s:
            rows = (await s.scalars(select(Change).order_by(Change.seq))).all()
    finally:
        await db.dispose()
    r = await outcomes_client.get("/v1/changes", params={"after": 2, "limit": 4})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    expected = ChangePage(
        items=[
            ChangeRead(
                seq=c.seq,
                at=as_utc(c.at),
                actor=c.actor,
                entity=c.entity,
                entity_id=c.entity_id,
                action=c.action,
                data=c.data,
                hash=c.hash,
                prev_hash=c.prev_hash,
            )
            for c in rows[2:6]
        ],
        next_after=rows[5].seq,
        head=rows[-1].seq,
    )
    # Same document (the stored `data` text is spliced in as stored, so compare parsed).
    assert r.json() == json.loads(expected.model_dump_json())
    assert orjson.loads(r.content) == orjson.loads(expected.model_dump_json())
    empty = await outcomes_client.get("/v1/changes", params={"after": 99})
    assert empty.json() == {"items": [], "next_after": 99, "head": rows[-1].seq}
    verify = (await outcomes_client.get("/v1/audit/verify")).json()
    assert verify["ok"] is True and verify["length"] == len(rows)
