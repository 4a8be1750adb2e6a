"""The decision log: append-only, and decisions move the epic's status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.outcomes.builders import make_epic


async def decide(
    client: httpx.AsyncClient, ref: str, decision: str, **fields: Any
) -> httpx.Response:
    body = {"decided_on": "2026-04-30", "decision": decision, **fields}
    return await client.post(f"/v1/epics/{ref}/decisions", json=body)


async def status_of(client: httpx.AsyncClient, ref: str) -> tuple[str, int]:
    e = (await client.get(f"/v1/epics/{ref}")).json()
    return e["status"], e["version"]


async def test_decisions_move_status(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="DC-1")  # proposed
    r = await decide(outcomes_client, "DC-1", "continue", grade="on_track", rationale="ok")
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["decision"] == "continue"
    assert d["grade"] == "on_track"
    assert d["epic"] == "DC-1"
    assert d["epic_id"] == epic["id"]
    assert d["decided_on"] == "2026-04-30"
    assert d["decided_by"].startswith("env:")
    assert r.headers["location"] == f"/v1/decisions/{d['id']}"
    assert r.headers["etag"] == '"1"'
    assert await status_of(outcomes_client, "DC-1") == ("active", 2)

    assert (await decide(outcomes_client, "DC-1", "scale")).status_code == 201
    assert await status_of(outcomes_client, "DC-1") == ("active", 2)  # already active

    r = await decide(outcomes_client, "DC-1", "pause", decided_by="Value council")
    assert r.json()["decided_by"] == "Value council"
    assert await status_of(outcomes_client, "DC-1") == ("paused", 3)

    r = await decide(outcomes_client, "DC-1", "Course-Correct", grade="delayed")
    assert r.status_code == 201
    assert r.json()["decision"] == "course_correct"
    assert await status_of(outcomes_client, "DC-1") == ("active", 4)

    r = await decide(outcomes_client, "DC-1", "cut", grade="disproven")
    assert await status_of(outcomes_client, "DC-1") == ("cut", 5)
    assert (await decide(outcomes_client, "DC-1", "continue")).status_code == 201
    assert await status_of(outcomes_client, "DC-1") == ("cut", 5)  # not silently revived

    log = (await outcomes_client.get("/v1/changes")).json()["items"]
    assert [(c["entity"], c["action"]) for c in log] == [
        ("epic", "created"),
        ("decision", "recorded"),
        ("epic", "updated"),
        ("decision", "recorded"),
        ("decision", "recorded"),
        ("epic", "updated"),
        ("decision", "recorded"),
        ("epic", "updated"),
        ("decision", "recorded"),
        ("epic", "updated"),
        ("decision", "recorded"),
    ]
    assert log[1]["data"] == d
    assert log[2]["data"]["status"] == "active"
    assert all(c["actor"] == log[0]["actor"] for c in log)

    listed = (await outcomes_client.get("/v1/decisions", params={"epic": "DC-1"})).json()
    assert [x["decision"] for x in listed["items"]] == [
        "continue",
        "scale",
        "pause",
        "course_correct",
        "cut",
        "continue",
    ]
    got = await outcomes_client.get(f"/v1/decisions/{d['id']}")
    assert got.json() == d
    assert got.headers["etag"] == '"1"'
    page = (await outcomes_client.get("/v1/decisions", params={"limit": 4})).json()
    assert len(page["items"]) == 4 and page["next_cursor"]


async def test_decision_log_is_append_only(outcomes_client: httpx.AsyncClient) -> None:
    await make_epic(outcomes_client, key="DC-2")
    d = (await decide(outcomes_client, "DC-2", "continue")).json()
    for method in ("PUT", "PATCH", "DELETE"):
        r = await outcomes_client.request(method, f"/v1/decisions/{d['id']}", json={})
        assert r.status_code == 405, method
    assert (await outcomes_client.get("/v1/decisions/nope")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "continue"},
        {"decided_on": "2026-04-31", "decision": "continue"},
        {"decided_on": "2026-04-30", "decision": "stop"},
        {"decided_on": "2026-04-30", "decision": "pause", "grade": "great"},
        {"decided_on": "2026-04-30", "decision": "pause", "rationale": "x" * 1_000_000},
        {"decided_on": "2026-04-30", "decision": "pause", "extra": True},
    ],
)
async def test_invalid_decision_writes_nothing(
    outcomes_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    await make_epic(outcomes_client, key="DC-3")
    r = await outcomes_client.post("/v1/epics/DC-3/decisions", json=body)
    assert r.status_code == 422, r.text[:300]
    assert await status_of(outcomes_client, "DC-3") == ("proposed", 1)
    assert len((await outcomes_client.get("/v1/changes")).json()["items"]) == 1


async def test_decision_on_archived_or_missing_epic(outcomes_client: httpx.AsyncClient) -> None:
    assert (await decide(outcomes_client, "NOPE", "pause")).status_code == 404
    await make_epic(outcomes_client, key="DC-4")
    await outcomes_client.delete("/v1/epics/DC-4")
    assert (await decide(outcomes_client, "DC-4", "pause")).status_code == 409
    assert await status_of(outcomes_client, "DC-4") == ("archived", 2)
