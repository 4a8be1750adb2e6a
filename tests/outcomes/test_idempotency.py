"""`Idempotency-Key` on POST: replay, mismatch, per-actor scope, failures, races."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ledgerkit.testing import app_client
from outcomes.app import create_app
from tests.conftest import KEYS


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def count(client: httpx.AsyncClient) -> tuple[int, int]:
    epics = (await client.get("/v1/epics")).json()["items"]
    changes = (await client.get("/v1/changes")).json()["items"]
    return len(epics), len(changes)


async def test_replay_same_body(outcomes_client: httpx.AsyncClient) -> None:
    body = {"key": "IK-1", "title": "t", "streams": ["cx"]}
    first = await outcomes_client.post("/v1/epics", json=body, headers=keyed("k-1"))
    assert first.status_code == 201
    again = await outcomes_client.post("/v1/epics", json=body, headers=keyed("k-1"))
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count(outcomes_client) == (1, 1)

    # even after the epic changed, the replay is the first response
    await outcomes_client.patch("/v1/epics/IK-1", json={"title": "changed"})
    third = await outcomes_client.post("/v1/epics", json=body, headers=keyed("k-1"))
    assert third.status_code == 201
    assert third.json()["title"] == "t"

    # without a key the same body is a new request: the duplicate key says 409
    plain = await outcomes_client.post("/v1/epics", json=body)
    assert plain.status_code == 409


async def test_same_key_different_request_is_422(outcomes_client: httpx.AsyncClient) -> None:
    r = await outcomes_client.post(
        "/v1/epics", json={"key": "IK-2", "title": "t"}, headers=keyed("k-2")
    )
    assert r.status_code == 201
    other = await outcomes_client.post(
        "/v1/epics", json={"key": "IK-3", "title": "t"}, headers=keyed("k-2")
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    other_path = await outcomes_client.post(
        "/v1/epics/IK-2/scores",
        json={"period": "2026-Q1", "outcome_potential": 3, "time_to_value": 3, "risk": 3},
        headers=keyed("k-2"),
    )
    assert other_path.status_code == 422
    assert await count(outcomes_client) == (1, 1)


async def test_failed_request_is_not_stored(outcomes_client: httpx.AsyncClient) -> None:
    bad = {"key": "IK-4", "title": "t", "streams": ["Growth"]}
    assert (
        await outcomes_client.post("/v1/epics", json=bad, headers=keyed("k-4"))
    ).status_code == 422
    good = {"key": "IK-4", "title": "t"}
    r = await outcomes_client.post("/v1/epics", json=good, headers=keyed("k-4"))
    assert r.status_code == 201
    assert await count(outcomes_client) == (1, 1)


async def test_keys_are_scoped_per_actor(outcomes_settings: Any) -> None:
    app = create_app(outcomes_settings)
    async with (
        app_client(app, key=KEYS["admin"]) as admin,
        app_client(app, key=KEYS["write"]) as writer,
    ):
        a = await admin.post("/v1/epics", json={"key": "A-1", "title": "t"}, headers=keyed("k"))
        w = await writer.post("/v1/epics", json={"key": "W-1", "title": "t"}, headers=keyed("k"))
        assert (a.status_code, w.status_code) == (201, 201)
        assert await count(admin) == (2, 2)


async def test_invalid_key_header(outcomes_client: httpx.AsyncClient) -> None:
    for bad in ("x" * 201, "has space"):
        r = await outcomes_client.post(
            "/v1/epics", json={"key": "IK-5", "title": "t"}, headers=keyed(bad)
        )
        assert r.status_code == 422, bad
    assert await count(outcomes_client) == (0, 0)


async def test_concurrent_retries_have_one_effect(outcomes_client: httpx.AsyncClient) -> None:
    body = {"key": "IK-6", "title": "t"}
    responses = await asyncio.gather(
        *(outcomes_client.post("/v1/epics", json=body, headers=keyed("k-6")) for _ in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" in r.headers for r in responses) == 9
    assert await count(outcomes_client) == (1, 1)


async def test_scores_and_decisions_replay(outcomes_client: httpx.AsyncClient) -> None:
    await outcomes_client.post("/v1/epics", json={"key": "IK-7", "title": "t"})
    score = {"period": "2026-Q1", "outcome_potential": 4, "time_to_value": 3, "risk": 2}
    s1 = await outcomes_client.post("/v1/epics/IK-7/scores", json=score, headers=keyed("s"))
    s2 = await outcomes_client.post("/v1/epics/IK-7/scores", json=score, headers=keyed("s"))
    assert s1.status_code == s2.status_code == 201
    assert s1.json() == s2.json()
    decision = {"decided_on": "2026-03-31", "decision": "pause"}
    d1 = await outcomes_client.post("/v1/epics/IK-7/decisions", json=decision, headers=keyed("d"))
    d2 = await outcomes_client.post("/v1/epics/IK-7/decisions", json=decision, headers=keyed("d"))
    assert d1.status_code == d2.status_code == 201
    assert d1.json() == d2.json()
    assert len((await outcomes_client.get("/v1/scores")).json()["items"]) == 1
    assert len((await outcomes_client.get("/v1/decisions")).json()["items"]) == 1
