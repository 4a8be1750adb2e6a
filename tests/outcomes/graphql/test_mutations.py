"""Mutations call the same domain services as REST: same rules, same change-log entries,
domain errors as GraphQL errors with `extensions.code`; `write` scope required."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.conftest import KEYS
from tests.outcomes.builders import make_kpi
from tests.outcomes.graphql.helpers import gql, gql_errors

CREATE = """mutation($input: EpicInput!) { createEpic(input: $input) {
  id key title streams status version plannedCost { amount currency }
  hypothesis { statement risks proofPlan { days } } } }"""
UPDATE = """mutation($ref: String!, $patch: EpicPatch!, $v: Int) {
  updateEpic(ref: $ref, patch: $patch, expectedVersion: $v) { key title team version
    hypothesis { statement risks } } }"""


async def test_create_and_update_epic(gql_client: httpx.AsyncClient) -> None:
    data = await gql(
        gql_client,
        CREATE,
        input={
            "key": "PAY-12",
            "title": "Next-best-offer",
            "streams": ["Revenue", "CX"],
            "status": "active",
            "plannedCost": {"amount": "500000", "currency": "USD"},
            "hypothesis": {
                "statement": "lifts conversion",
                "risks": ["adoption"],
                "proofPlan": {"days": 60},
            },
        },
    )
    epic = data["createEpic"]
    assert epic["plannedCost"] == {"amount": "500000.00", "currency": "USD"}
    assert epic["hypothesis"] == {
        "statement": "lifts conversion",
        "risks": ["adoption"],
        "proofPlan": {"days": 60},
    }
    rest = (await gql_client.get(f"/v1/epics/{epic['id']}")).json()
    assert rest["key"] == "PAY-12" and rest["streams"] == ["Revenue", "CX"]

    dup = await gql_errors(gql_client, CREATE, input={"key": "PAY-12", "title": "Again"})
    assert dup[0]["extensions"]["code"] == "duplicate-epic-key"
    assert dup[0]["extensions"]["status"] == 409
    bad = await gql_errors(gql_client, CREATE, input={"key": "bad key!", "title": "x"})
    assert bad[0]["extensions"]["code"] == "validation-error"
    assert bad[0]["extensions"]["errors"][0]["loc"][:2] == ["input", "key"]

    patched = await gql(
        gql_client,
        UPDATE,
        ref="PAY-12",
        patch={"team": "Payments", "hypothesis": {"risks": ["pricing"]}},
        v=1,
    )
    assert patched["updateEpic"] == {
        "key": "PAY-12",
        "title": "Next-best-offer",
        "team": "Payments",
        "version": 2,
        "hypothesis": {"statement": "lifts conversion", "risks": ["pricing"]},
    }
    removed = await gql(gql_client, UPDATE, ref="PAY-12", patch={"team": None})
    assert removed["updateEpic"]["team"] is None
    stale = await gql_errors(gql_client, UPDATE, ref="PAY-12", patch={"title": "T"}, v=1)
    assert stale[0]["extensions"]["code"] == "precondition-failed"
    missing = await gql_errors(gql_client, UPDATE, ref="NOPE-1", patch={"title": "T"})
    assert missing[0]["extensions"]["code"] == "epic-not-found"
    changes = (await gql_client.get("/v1/changes")).json()["items"]
    assert [(c["entity"], c["action"]) for c in changes] == [
        ("epic", "created"),
        ("epic", "updated"),
        ("epic", "updated"),
    ]


async def test_record_measurements(gql_client: httpx.AsyncClient) -> None:
    await make_kpi(gql_client, "conv")
    q = """mutation($rows: [MeasurementInput!]!) {
             recordMeasurements(kpi: "conv", measurements: $rows) {
               created corrected unchanged } }"""
    rows: list[dict[str, Any]] = [
        {"period": "2026-01", "value": "2.1"},
        {"period": "2026-02", "value": 2.3},
    ]
    assert (await gql(gql_client, q, rows=rows))["recordMeasurements"] == {
        "created": 2,
        "corrected": 0,
        "unchanged": 0,
    }
    rows[1]["value"] = "2.4"
    assert (await gql(gql_client, q, rows=rows))["recordMeasurements"] == {
        "created": 0,
        "corrected": 1,
        "unchanged": 1,
    }
    read = (await gql_client.get("/v1/kpis/conv/measurements")).json()["items"]
    assert [(m["period"], m["value"], m["version"]) for m in read] == [
        ("2026-01", "2.1", 1),
        ("2026-02", "2.4", 2),
    ]
    bad = await gql_errors(gql_client, q, rows=[{"period": "2026-Q1", "value": "1"}])
    assert bad[0]["extensions"]["code"] == "validation-error"
    unknown = await gql_errors(
        gql_client,
        'mutation { recordMeasurements(kpi: "nope", measurements: []) { created } }',
    )
    assert unknown[0]["extensions"]["code"] == "kpi-not-found"


async def test_mutations_need_write(
    gql_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="strawberry.execution"):
        r = await gql_client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": {"key": "A-1", "title": "t"}}},
            headers={"Authorization": f"Bearer {KEYS['read']}"},
        )
    errors = r.json()["errors"]
    assert errors[0]["extensions"]["code"] == "forbidden"
    assert (await gql_client.get("/v1/epics")).json()["items"] == []
    # A client's own error is answered, not logged as a server error with a traceback.
    assert not [rec for rec in caplog.records if rec.name == "strawberry.execution"]


async def test_record_decision(gql_client: httpx.AsyncClient) -> None:
    await gql(gql_client, CREATE, input={"key": "DEC-1", "title": "Decide", "status": "active"})
    q = """mutation($in: DecisionInput!) { recordDecision(epic: "DEC-1", input: $in) {
             id decision grade decidedBy epic { key status version } } }"""
    data = await gql(
        gql_client,
        q,
        **{"in": {"decidedOn": "2026-04-01", "decision": "pause", "grade": "delayed"}},
    )
    d = data["recordDecision"]
    assert d["decision"] == "pause" and d["grade"] == "delayed"
    assert d["decidedBy"].startswith("env:")
    assert d["epic"] == {"key": "DEC-1", "status": "paused", "version": 2}
    rest = (await gql_client.get("/v1/decisions", params={"epic": "DEC-1"})).json()["items"]
    assert [x["id"] for x in rest] == [d["id"]]
    bad = await gql_errors(
        gql_client, q, **{"in": {"decidedOn": "2026-04-01", "decision": "maybe"}}
    )
    assert bad[0]["extensions"]["code"] == "validation-error"
    missing = await gql_errors(
        gql_client,
        'mutation { recordDecision(epic: "NOPE", input: {decidedOn: "2026-04-01", '
        'decision: "cut"}) { id } }',
    )
    assert missing[0]["extensions"]["code"] == "epic-not-found"
