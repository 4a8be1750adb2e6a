"""Merge-patch updates, If-Match, archive and restore through the REST API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.outcomes.builders import make_epic

MERGE = {"Content-Type": "application/merge-patch+json"}


async def patch(client: httpx.AsyncClient, ref: str, body: Any, **headers: str) -> httpx.Response:
    return await client.patch(f"/v1/epics/{ref}", json=body, headers={**MERGE, **headers})


async def epic_changes(client: httpx.AsyncClient) -> list[tuple[str, int]]:
    items = (await client.get("/v1/changes")).json()["items"]
    return [(c["action"], c["data"]["version"]) for c in items if c["entity"] == "epic"]


async def test_merge_patch_sets_removes_and_merges(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(
        outcomes_client,
        key="MP-1",
        team="Payments",
        owner="pricing",
        streams=["Revenue"],
        labels=["a"],
        planned_cost={"amount": "10.5", "currency": "EUR"},
        hypothesis={"statement": "s", "risks": ["r1"], "proof_plan": {"days": 60}},
    )
    r = await patch(
        outcomes_client,
        "MP-1",
        {
            "title": "Renamed",
            "owner": None,
            "streams": ["cx", "cost"],
            "labels": None,
            "planned_cost": None,
            "hypothesis": {"for_whom": "SMBs", "risks": None, "proof_plan": {"stop_if": "x"}},
        },
        **{"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert r.headers["etag"] == '"2"'
    assert got["version"] == 2
    assert got["title"] == "Renamed"
    assert got["owner"] is None
    assert got["team"] == "Payments"
    assert got["streams"] == ["Cost", "CX"]
    assert got["labels"] == []
    assert got["planned_cost"] is None
    assert got["hypothesis"]["statement"] == "s"
    assert got["hypothesis"]["for_whom"] == "SMBs"
    assert got["hypothesis"]["risks"] == []
    assert got["hypothesis"]["proof_plan"] == {"days": 60, "stop_if": "x", "scale_if": None}
    assert got["created_at"] == epic["created_at"]
    assert (await outcomes_client.get(f"/v1/epics/{epic['id']}")).json() == got

    # streams mirrored for filtering
    keys = [e["key"] for e in (await outcomes_client.get("/v1/epics?stream=CX")).json()["items"]]
    assert keys == ["MP-1"]
    assert (await outcomes_client.get("/v1/epics?stream=Revenue")).json()["items"] == []

    # plain application/json is accepted too; text/plain is not
    r = await outcomes_client.patch("/v1/epics/MP-1", json={"sponsor": "CFO"})
    assert r.status_code == 200
    assert r.json()["version"] == 3
    r = await outcomes_client.patch(
        "/v1/epics/MP-1", content=b'{"sponsor": "X"}', headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415

    log = (await outcomes_client.get("/v1/changes")).json()["items"]
    assert [(c["action"], c["data"]["version"]) for c in log] == [
        ("created", 1),
        ("updated", 2),
        ("updated", 3),
    ]
    assert log[1]["data"] == got


async def test_no_op_patch_changes_nothing(outcomes_client: httpx.AsyncClient) -> None:
    await make_epic(outcomes_client, key="NOOP-1", team="T", streams=["Risk"])
    for body in ({}, {"team": "T"}, {"streams": ["risk"]}, {"owner": None}):
        r = await patch(outcomes_client, "NOOP-1", body)
        assert r.status_code == 200
        assert r.json()["version"] == 1
        assert r.headers["etag"] == '"1"'
    assert await epic_changes(outcomes_client) == [("created", 1)]


async def test_patch_validates_the_merged_epic(outcomes_client: httpx.AsyncClient) -> None:
    await make_epic(outcomes_client, key="V-1", start_date="2026-03-01")
    await make_epic(outcomes_client, key="V-2")
    cases: list[tuple[dict[str, Any], int]] = [
        ({"title": None}, 422),  # required field cannot be removed
        ({"key": None}, 422),
        ({"target_date": "2026-01-01"}, 422),  # before start_date
        ({"streams": ["Growth"]}, 422),
        ({"status": "open"}, 422),
        ({"version": 7}, 422),  # read-only / unknown field
        ({"id": "x"}, 422),
        ({"hypothesis": {"nope": 1}}, 422),
        ({"key": "V-2"}, 409),
    ]
    for body, status in cases:
        r = await patch(outcomes_client, "V-1", body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await patch(outcomes_client, "V-1", {"streams": ["Growth"]})
    assert "Revenue" in r.text and "CX" in r.text
    assert (await outcomes_client.get("/v1/epics/V-1")).json()["version"] == 1
    assert await epic_changes(outcomes_client) == [("created", 1), ("created", 1)]

    r = await patch(outcomes_client, "V-1", {"key": "V-1b"})
    assert r.status_code == 200
    assert (await outcomes_client.get("/v1/epics/V-1b")).status_code == 200
    assert (await outcomes_client.get("/v1/epics/V-1")).status_code == 404


async def test_if_match(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="IM-1")
    r = await patch(outcomes_client, epic["id"], {"team": "A"}, **{"If-Match": '"1"'})
    assert r.status_code == 200
    stale = await patch(outcomes_client, epic["id"], {"team": "B"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    problem = stale.json()
    assert problem["current_version"] == 2
    assert stale.headers["etag"] == '"2"'
    for tag, team in (('W/"2"', "W"), ('"1", "3"', "L"), ("*", "S")):
        r = await patch(outcomes_client, epic["id"], {"team": team}, **{"If-Match": tag})
        assert r.status_code == 200, tag
        current = r.json()["version"]
    assert current == 5
    stale = await patch(outcomes_client, epic["id"], {"team": "Z"}, **{"If-Match": '"1", "3"'})
    assert stale.status_code == 412
    assert (
        await patch(outcomes_client, epic["id"], {"team": "Y"}, **{"If-Match": "garbage"})
    ).status_code == 412
    assert (await outcomes_client.get(f"/v1/epics/{epic['id']}")).json()["version"] == current


async def test_archive_restore(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="AR-1", status="active")
    r = await outcomes_client.delete("/v1/epics/AR-1", headers={"If-Match": '"9"'})
    assert r.status_code == 412
    r = await outcomes_client.delete("/v1/epics/AR-1", headers={"If-Match": '"1"'})
    assert r.status_code == 204
    assert r.content == b""
    again = await outcomes_client.delete("/v1/epics/AR-1")
    assert again.status_code == 204  # idempotent: no new version, no new change
    got = (await outcomes_client.get(f"/v1/epics/{epic['id']}")).json()
    assert got["status"] == "archived"
    assert got["version"] == 2
    assert got["archived_at"].endswith("Z")
    assert (await outcomes_client.get("/v1/epics")).json()["items"] == []
    assert (await outcomes_client.delete("/v1/epics/NOPE")).status_code == 404

    # Restoring through PATCH: status leaves `archived`.
    r = await patch(outcomes_client, "AR-1", {"status": "active"})
    assert r.status_code == 200
    assert r.json()["archived_at"] is None
    assert await epic_changes(outcomes_client) == [
        ("created", 1),
        ("archived", 2),
        ("restored", 3),
    ]
