"""Concurrent deliveries: retries racing each other are applied once; updates of one item
racing each other end in the newest state; many items at once all land."""

from __future__ import annotations

import asyncio
import random

import httpx

from tests.outcomes.webhooks.helpers import (
    changes,
    deliveries,
    epic,
    payload,
    post_ado,
    post_jira,
    raw,
)


async def test_racing_retries_are_applied_once(outcomes_client: httpx.AsyncClient) -> None:
    body = raw("jira/issue_created.json")
    rs = await asyncio.gather(
        *(post_jira(outcomes_client, body, identifier="same-delivery") for _ in range(8))
    )
    assert all(r.status_code == 202 for r in rs), [r.text for r in rs]
    assert sorted(r.json()["status"] for r in rs) == ["duplicate"] * 7 + ["processed"]
    assert (await epic(outcomes_client, "PAY-12"))["version"] == 1
    assert len(await changes(outcomes_client)) == 1


async def test_racing_updates_of_one_item_end_newest(outcomes_client: httpx.AsyncClient) -> None:
    names = [
        "ado/workitem_created.json",
        "ado/workitem_updated_rev_older.json",
        "ado/workitem_updated.json",
    ]
    bodies = [raw(n) for n in names] * 3
    random.Random(7).shuffle(bodies)
    rs = await asyncio.gather(*(post_ado(outcomes_client, b) for b in bodies))
    assert all(r.status_code == 202 for r in rs), [r.text for r in rs]
    assert {r.json()["status"] for r in rs} <= {"processed", "stale", "duplicate"}
    e = await epic(outcomes_client, "ADO-3107")
    assert (e["status"], e["labels"]) == ("active", ["Outcome:Cost", "KPI:cost-per-ticket"])
    assert sum(r.json()["status"] == "duplicate" for r in rs) == 6


async def test_many_items_at_once(outcomes_client: httpx.AsyncClient) -> None:
    bodies = []
    for i in range(20):
        b = payload("jira/issue_created.json")
        b["issue"]["id"], b["issue"]["key"] = str(20000 + i), f"CON-{i}"
        bodies.append(b)
    rs = await asyncio.gather(*(post_jira(outcomes_client, b) for b in bodies))
    assert [r.json()["status"] for r in rs] == ["processed"] * 20
    assert len(await deliveries(outcomes_client, status="processed")) == 20
    feed = await changes(outcomes_client)
    assert [c["seq"] for c in feed] == list(range(1, 21))
