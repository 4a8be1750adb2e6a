"""Outbound events from the change log to a real receiver on 127.0.0.1: every event once,
signed, in order; a receiver that is down gets them later, still in order."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from ledgerkit.testing import app_client
from ledgerkit.timeutil import utcnow
from outcomes.subscriptions.signing import verify
from tests.conftest import KEYS
from tests.outcomes.subscriptions.receiver import Receiver

SECRET = "receiver-shared-secret-0123456789"


async def _subscribe(client: httpx.AsyncClient, url: str, types: list[str] | None = None) -> str:
    r = await client.post(
        "/v1/subscriptions",
        json={"url": url, "event_types": types or ["*"], "secret": SECRET},
    )
    assert r.status_code == 201, r.text
    sub_id: str = r.json()["id"]
    return sub_id


async def _epic_story(client: httpx.AsyncClient, key: str) -> None:
    """epic.created, epic.updated, epic.archived — through the real API."""
    r = await client.post("/v1/epics", json={"key": key, "title": f"{key} title"})
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/epics/{key}",
        json={"title": f"{key} renamed"},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert (await client.delete(f"/v1/epics/{key}")).status_code == 204


async def _changes(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/v1/changes")).json()["items"]
    return items


def _assert_signed(receiver: Receiver) -> None:
    for got in receiver.received:
        h = got.headers
        assert h["content-type"] == "application/json"
        assert verify(SECRET, h["x-ledger-timestamp"], got.raw, h["x-ledger-signature"])
        assert h["x-ledger-signature"].startswith("sha256=")
        assert not verify(
            "another-secret", h["x-ledger-timestamp"], got.raw, h["x-ledger-signature"]
        )
        body = got.body
        assert set(body) == {"id", "type", "seq", "occurred_at", "data"}
        assert h["x-ledger-event"] == body["type"]
        assert h["x-ledger-delivery"] == body["id"]
        assert body["occurred_at"].endswith("Z")


async def test_every_event_once_signed_in_order(
    outcomes_app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    before = await client.post("/v1/epics", json={"key": "OLD-1", "title": "before"})
    assert before.status_code == 201
    sub = await _subscribe(client, receiver.url)  # starts at the head: OLD-1 is not sent
    await _epic_story(client, "PAY-12")
    await _epic_story(client, "WEB-7")

    result = await outcomes_app.state.dispatcher.dispatch_once()
    assert result.queued == 6 and result.delivered == 6
    again = await outcomes_app.state.dispatcher.dispatch_once()
    assert again.queued == 0 and again.delivered == 0  # nothing twice

    bodies = receiver.bodies()
    changes = [c for c in await _changes(client) if c["entity"] == "epic"][1:]
    assert [b["seq"] for b in bodies] == [c["seq"] for c in changes]
    assert [b["type"] for b in bodies] == [
        "epic.created",
        "epic.updated",
        "epic.archived",
    ] * 2
    assert bodies[1]["data"]["title"] == "PAY-12 renamed"
    assert bodies[0]["data"] == changes[0]["data"]
    assert len({b["id"] for b in bodies}) == 6
    _assert_signed(receiver)

    deliveries = (await client.get(f"/v1/subscriptions/{sub}/deliveries")).json()["items"]
    assert [d["status"] for d in deliveries] == ["delivered"] * 6
    assert all(d["attempts"] == 1 and d["last_status_code"] == 200 for d in deliveries)
    assert [d["id"] for d in deliveries] == [b["id"] for b in bodies]


async def test_event_type_filter(
    outcomes_app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await _subscribe(client, receiver.url, ["epic.archived"])
    await _epic_story(client, "PAY-12")
    await outcomes_app.state.dispatcher.dispatch_once()
    assert [b["type"] for b in receiver.bodies()] == ["epic.archived"]


async def test_receiver_down_then_back_gets_everything_in_order(
    outcomes_app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    dispatcher = outcomes_app.state.dispatcher
    sub = await _subscribe(client, receiver.url)
    await _epic_story(client, "A-1")
    assert (await dispatcher.dispatch_once()).delivered == 3

    receiver.stop()  # down: connection refused
    await _epic_story(client, "B-2")
    first = await dispatcher.dispatch_once()
    assert first.queued == 3 and first.delivered == 0 and first.failed_attempts == 1
    url = f"/v1/subscriptions/{sub}/deliveries"
    retrying = (await client.get(url, params={"status": "retrying"})).json()["items"]
    assert len(retrying) == 1
    head = retrying[0]
    assert head["attempts"] == 1 and head["last_error"] and head["last_status_code"] is None
    assert head["next_attempt_at"] > head["created_at"]
    pending = (await client.get(url, params={"status": "pending"})).json()["items"]
    assert len(pending) == 2  # blocked behind the failing one: order holds
    assert (await client.get(f"/v1/subscriptions/{sub}")).json()["pending"] == 3

    # not due yet: nothing is attempted
    assert (await dispatcher.dispatch_once()).failed_attempts == 0
    # still down when due: attempts grow, the backoff grows
    later = utcnow() + timedelta(minutes=5)
    assert (await dispatcher.dispatch_once(now=later)).failed_attempts == 1
    head2 = (await client.get(url, params={"status": "retrying"})).json()["items"][0]
    assert head2["attempts"] == 2

    # a 503 is a failure too
    receiver.status = 503
    receiver.start()
    assert (await dispatcher.dispatch_once(now=later + timedelta(minutes=5))).delivered == 0
    head3 = (await client.get(url, params={"status": "retrying"})).json()["items"][0]
    assert head3["attempts"] == 3 and head3["last_status_code"] == 503

    # back up: everything arrives, once, in order
    receiver.status = 200
    await _epic_story(client, "C-3")
    done = await dispatcher.dispatch_once(now=later + timedelta(hours=2))
    assert done.delivered == 6
    bodies = receiver.bodies()
    assert [b["seq"] for b in bodies] == sorted(b["seq"] for b in bodies)
    assert len(bodies) == 9 and len({b["id"] for b in bodies}) == 9
    keys = [b["data"]["key"] for b in bodies]
    assert keys == ["A-1"] * 3 + ["B-2"] * 3 + ["C-3"] * 3
    _assert_signed(receiver)
    statuses = [d["status"] for d in (await client.get(url)).json()["items"]]
    assert statuses == ["delivered"] * 9


async def test_nothing_missed_across_a_restart(outbound_settings: Any, receiver: Receiver) -> None:
    from outcomes.app import create_app

    app1 = create_app(outbound_settings)
    async with app_client(app1, key=KEYS["admin"]) as c1:
        await _subscribe(c1, receiver.url)
        await _epic_story(c1, "A-1")
        await app1.state.dispatcher.dispatch_once()
        await _epic_story(c1, "B-2")  # written, not yet dispatched when the process stops
    app2 = create_app(outbound_settings)
    async with app_client(app2, key=KEYS["admin"]) as c2:
        await _epic_story(c2, "C-3")
        await app2.state.dispatcher.dispatch_once()
    keys = [b["data"]["key"] for b in receiver.bodies()]
    assert keys == ["A-1"] * 3 + ["B-2"] * 3 + ["C-3"] * 3


async def test_two_dispatchers_deliver_each_event_once_in_order(
    outbound_settings: Any, client: httpx.AsyncClient, receiver: Receiver, database_urls: Any
) -> None:
    """Two replicas' dispatchers at once (separate engines, like separate processes)."""
    from ledgerkit.db import Database
    from outcomes.subscriptions.dispatcher import Dispatcher

    await _subscribe(client, receiver.url)
    other = Receiver().start()
    try:
        await _subscribe(client, other.url, ["epic.created"])
        for i in range(4):
            await _epic_story(client, f"E-{i}")
        dbs = [Database(database_urls["outcomes"]) for _ in range(2)]
        try:
            d1, d2 = (Dispatcher(db, outbound_settings) for db in dbs)
            for _ in range(3):
                await asyncio.gather(d1.dispatch_once(), d2.dispatch_once())
        finally:
            for db in dbs:
                await db.dispose()
        seqs = [b["seq"] for b in receiver.bodies()]
        assert len(seqs) == 12 and seqs == sorted(set(seqs))
        assert [b["type"] for b in other.bodies()] == ["epic.created"] * 4
    finally:
        other.stop()


async def test_background_dispatcher_delivers_without_help(
    outbound_settings: Any, receiver: Receiver
) -> None:
    from outcomes.app import create_app

    settings = outbound_settings.model_copy(update={"outbound_interval": 0.05})
    async with app_client(create_app(settings), key=KEYS["admin"]) as c:
        await _subscribe(c, receiver.url)
        await _epic_story(c, "BG-1")
        for _ in range(200):  # bounded wait for the loop to catch up
            if len(receiver.received) >= 3:
                break
            await asyncio.sleep(0.05)
    assert [b["type"] for b in receiver.bodies()] == [
        "epic.created",
        "epic.updated",
        "epic.archived",
    ]
