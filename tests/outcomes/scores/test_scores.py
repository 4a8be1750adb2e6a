"""Value-council scores through the REST API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.outcomes.builders import make_epic


def score(period: str = "2026-Q2", **overrides: Any) -> dict[str, Any]:
    return {"period": period, "outcome_potential": 5, "time_to_value": 3, "risk": 2, **overrides}


async def test_score_create_get_list(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="SC-1")
    other = await make_epic(outcomes_client, key="SC-2")
    r = await outcomes_client.post("/v1/epics/SC-1/scores", json=score(note="strong case"))
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["total"] == 10
    assert s["epic"] == "SC-1"
    assert s["epic_id"] == epic["id"]
    assert s["scored_by"].startswith("env:")  # defaults to the caller
    assert s["note"] == "strong case"
    assert r.headers["location"] == f"/v1/scores/{s['id']}"
    assert r.headers["etag"] == '"1"'
    got = await outcomes_client.get(f"/v1/scores/{s['id']}")
    assert got.status_code == 200
    assert got.json() == s
    assert got.headers["etag"] == '"1"'
    assert (await outcomes_client.get("/v1/scores/nope")).status_code == 404

    # a re-score of the same epic and period is kept (history); the latest counts
    r2 = await outcomes_client.post(
        f"/v1/epics/{epic['id']}/scores", json=score(risk=5, scored_by="Value council")
    )
    assert r2.status_code == 201
    assert r2.json()["total"] == 13
    assert r2.json()["scored_by"] == "Value council"
    await outcomes_client.post("/v1/epics/SC-2/scores", json=score("2026-04"))

    async def ids(**params: Any) -> list[str]:
        r = await outcomes_client.get("/v1/scores", params=params)
        assert r.status_code == 200, r.text
        return [x["epic"] + "@" + x["period"] for x in r.json()["items"]]

    assert await ids() == ["SC-1@2026-Q2", "SC-1@2026-Q2", "SC-2@2026-04"]
    assert await ids(period="2026-Q2") == ["SC-1@2026-Q2", "SC-1@2026-Q2"]
    assert await ids(epic="SC-2") == ["SC-2@2026-04"]
    assert await ids(epic=other["id"], period="2026-Q2") == []
    page = (await outcomes_client.get("/v1/scores", params={"limit": 2})).json()
    assert len(page["items"]) == 2
    rest = (await outcomes_client.get("/v1/scores", params={"cursor": page["next_cursor"]})).json()
    assert [x["epic"] for x in rest["items"]] == ["SC-2"]
    assert rest["next_cursor"] is None
    assert (await outcomes_client.get("/v1/scores", params={"epic": "NOPE"})).status_code == 404
    assert (
        await outcomes_client.get("/v1/scores", params={"period": "2026-13"})
    ).status_code == 422

    log = list((await outcomes_client.get("/v1/changes")).json()["items"])
    created = [c for c in log if c["entity"] == "score"]
    assert [c["action"] for c in created] == ["created"] * 3
    assert created[0]["data"] == s
    assert created[0]["entity_id"] == s["id"]
    # scoring does not change the epic
    assert (await outcomes_client.get("/v1/epics/SC-1")).json()["version"] == 1


@pytest.mark.parametrize(
    "body",
    [
        score(outcome_potential=0),
        score(risk=6),
        score(time_to_value=2.5),
        score(time_to_value="3"),
        score(risk=None),
        score(period="2026-5"),
        score(period="2026-Q5"),
        score(period="Q2-2026"),
        score(note="x" * 1_000_000),
        score(total=12),
        {"period": "2026-Q2"},
    ],
)
async def test_invalid_score_is_422(outcomes_client: httpx.AsyncClient, body: Any) -> None:
    await make_epic(outcomes_client, key="SC-3")
    r = await outcomes_client.post("/v1/epics/SC-3/scores", json=body)
    assert r.status_code == 422, r.text[:300]
    assert (await outcomes_client.get("/v1/scores")).json()["items"] == []


async def test_score_needs_a_live_epic(outcomes_client: httpx.AsyncClient) -> None:
    assert (await outcomes_client.post("/v1/epics/NOPE/scores", json=score())).status_code == 404
    await make_epic(outcomes_client, key="SC-4")
    await outcomes_client.delete("/v1/epics/SC-4")
    r = await outcomes_client.post("/v1/epics/SC-4/scores", json=score())
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/epic-archived"
