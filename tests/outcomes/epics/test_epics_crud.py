"""Epics through the REST API: create, read by id and key, list filters, merge patch,
If-Match, archive — each write recorded in the change log with the caller as actor."""

from __future__ import annotations

from typing import Any

import httpx

from tests.outcomes.builders import make_epic

FULL = {
    "key": "PAY-12",
    "title": "Next-best-offer at checkout",
    "streams": ["revenue", "CX", "Revenue"],
    "status": "active",
    "owner": "pricing-team",
    "team": "Payments",
    "planned_cost": {"amount": "500000", "currency": "USD"},
    "start_date": "2026-01-15",
    "target_date": "2026-06-30",
    "hypothesis": {
        "statement": "NBO lifts checkout conversion from 2.1% to 3.3%",
        "for_whom": "returning customers",
        "economic_logic": "≈ $9.5M run-rate",
        "assumptions": ["offers are relevant"],
        "risks": ["sales adoption"],
        "leading_indicators": ["offer click-through"],
        "lagging_indicators": ["checkout conversion"],
        "proof_plan": {"days": 90, "stop_if": "no lift by day 60", "scale_if": "lift > 0.5pp"},
    },
    "change_type": "transformative",
    "sponsor": "CFO",
    "labels": ["outcome-revenue", "kpi-checkout-conversion"],
}


async def changes(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await client.get("/v1/changes", params={"limit": 5000})
    assert r.status_code == 200
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_create_and_get_by_id_and_key(outcomes_client: httpx.AsyncClient) -> None:
    r = await outcomes_client.post("/v1/epics", json=FULL)
    assert r.status_code == 201, r.text
    epic = r.json()
    assert r.headers["location"] == f"/v1/epics/{epic['id']}"
    assert r.headers["etag"] == '"1"'
    assert epic["streams"] == ["Revenue", "CX"]
    assert epic["planned_cost"] == {"amount": "500000.00", "currency": "USD"}
    assert epic["version"] == 1
    assert epic["source"] == "manual"
    assert epic["hypothesis"]["proof_plan"]["days"] == 90
    assert epic["created_at"].endswith("Z")
    assert epic["archived_at"] is None
    assert epic["warnings"] == []

    for ref in (epic["id"], "PAY-12"):
        g = await outcomes_client.get(f"/v1/epics/{ref}")
        assert g.status_code == 200
        assert g.headers["etag"] == '"1"'
        assert g.json() == epic

    missing = await outcomes_client.get("/v1/epics/NOPE-1")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["type"] == "/problems/epic-not-found"

    log = await changes(outcomes_client)
    assert [(c["entity"], c["action"], c["entity_id"]) for c in log] == [
        ("epic", "created", epic["id"])
    ]
    assert log[0]["data"] == epic
    assert log[0]["actor"].startswith("env:")


async def test_minimal_epic_defaults(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="MIN-1", title="  Minimal  ")
    assert epic["title"] == "Minimal"
    assert epic["status"] == "proposed"
    assert epic["streams"] == []
    assert epic["labels"] == []
    assert epic["hypothesis"] is None
    assert epic["planned_cost"] is None


async def test_duplicate_key_is_409_and_nothing_written(
    outcomes_client: httpx.AsyncClient,
) -> None:
    await make_epic(outcomes_client, key="DUP-1")
    r = await outcomes_client.post("/v1/epics", json={"key": "DUP-1", "title": "again"})
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/duplicate-epic-key"
    page = (await outcomes_client.get("/v1/epics")).json()
    assert len(page["items"]) == 1
    assert len(await changes(outcomes_client)) == 1


async def test_list_filters(outcomes_client: httpx.AsyncClient) -> None:
    a = await make_epic(
        outcomes_client, key="A-1", title="Checkout offers", streams=["Revenue"], team="Payments"
    )
    b = await make_epic(
        outcomes_client,
        key="B-1",
        title="Cut hosting cost",
        streams=["Cost", "Risk"],
        status="active",
        source="jira",
        team="Platform",
    )
    c = await make_epic(outcomes_client, key="C-1", title="Untagged", source="ado")
    d = await make_epic(outcomes_client, key="D-1", title="Old offers", streams=["Revenue"])
    assert (await outcomes_client.delete(f"/v1/epics/{d['id']}")).status_code == 204

    async def keys(**params: Any) -> list[str]:
        r = await outcomes_client.get("/v1/epics", params=params)
        assert r.status_code == 200, r.text
        return [e["key"] for e in r.json()["items"]]

    assert await keys() == ["A-1", "B-1", "C-1"]
    assert await keys(include_archived="true") == ["A-1", "B-1", "C-1", "D-1"]
    assert await keys(status="archived") == ["D-1"]
    assert await keys(stream="revenue") == ["A-1"]
    assert await keys(stream="RISK") == ["B-1"]
    assert await keys(stream="Revenue", include_archived="true") == ["A-1", "D-1"]
    assert await keys(status="active") == ["B-1"]
    assert await keys(source="jira") == ["B-1"]
    assert await keys(source="ado") == ["C-1"]
    assert await keys(team="payments") == ["A-1"]
    assert await keys(q="OFFERS") == ["A-1"]
    assert await keys(q="offers", include_archived="true") == ["A-1", "D-1"]
    assert await keys(q="b-1") == ["B-1"]
    assert await keys(q="%") == []
    assert await keys(kpi="no-such-kpi") == []
    assert {a["id"], b["id"], c["id"]}  # ids are distinct strings

    bad = await outcomes_client.get("/v1/epics", params={"stream": "Growth"})
    assert bad.status_code == 422
    assert "Revenue" in bad.text and "CX" in bad.text
    bad = await outcomes_client.get("/v1/epics", params={"status": "open"})
    assert bad.status_code == 422
    assert "proposed" in bad.text


async def test_pagination_is_stable(outcomes_client: httpx.AsyncClient) -> None:
    made = [(await make_epic(outcomes_client, key=f"PG-{i}"))["key"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await outcomes_client.get("/v1/epics", params=params)).json()
        seen += [e["key"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    for bad in ({"limit": 0}, {"limit": 501}, {"cursor": "!!!"}, {"cursor": "ImFiYyI"}):
        r = await outcomes_client.get("/v1/epics", params=bad)
        assert r.status_code == 422, (bad, r.text)
