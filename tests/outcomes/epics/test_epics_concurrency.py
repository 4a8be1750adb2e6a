"""Races: of concurrent writers holding the same ETag exactly one wins; a duplicate key
created concurrently is one epic and 409s."""

from __future__ import annotations

import asyncio

import httpx

from tests.outcomes.builders import make_epic


async def test_concurrent_if_match_patches_one_wins(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="RACE-1")

    async def attempt(i: int) -> httpx.Response:
        return await outcomes_client.patch(
            f"/v1/epics/{epic['id']}",
            json={"title": f"writer {i}"},
            headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
        )

    responses = await asyncio.gather(*(attempt(i) for i in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 19, statuses
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["version"] == 2
    now = (await outcomes_client.get(f"/v1/epics/{epic['id']}")).json()
    assert now == winner
    log = (await outcomes_client.get("/v1/changes")).json()["items"]
    assert [c["action"] for c in log] == ["created", "updated"]
    assert (await outcomes_client.get("/v1/audit/verify")).json()["ok"] is True


async def test_concurrent_unconditional_patches_all_apply(
    outcomes_client: httpx.AsyncClient,
) -> None:
    epic = await make_epic(outcomes_client, key="RACE-2")
    responses = await asyncio.gather(
        *(
            outcomes_client.patch(f"/v1/epics/{epic['id']}", json={"labels": [f"l{i}"]})
            for i in range(10)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 12))
    assert (await outcomes_client.get(f"/v1/epics/{epic['id']}")).json()["version"] == 11


async def test_concurrent_archive_records_once(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="RACE-3")
    responses = await asyncio.gather(
        *(outcomes_client.delete(f"/v1/epics/{epic['id']}") for _ in range(10))
    )
    assert {r.status_code for r in responses} == {204}
    log = (await outcomes_client.get("/v1/changes")).json()["items"]
    assert [c["action"] for c in log] == ["created", "archived"]


async def test_concurrent_duplicate_key(outcomes_client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(
            outcomes_client.post("/v1/epics", json={"key": "SAME-1", "title": f"t{i}"})
            for i in range(10)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, statuses
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        for r in responses
        if r.status_code == 409
    )
    items = (await outcomes_client.get("/v1/epics")).json()["items"]
    assert [e["key"] for e in items] == ["SAME-1"]
    assert len((await outcomes_client.get("/v1/changes")).json()["items"]) == 1
