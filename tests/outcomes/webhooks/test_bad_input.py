"""Bad input: each gets a clear 4xx problem+json, is recorded in the inbox as `rejected`,
and nothing already stored changes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.outcomes.webhooks.conftest import ClientFactory
from tests.outcomes.webhooks.helpers import (
    accepted,
    changes,
    deliveries,
    delivery,
    epic,
    payload,
    post_ado,
    post_jira,
    raw,
)


def _jira(edit: Any) -> bytes:
    body = payload("jira/issue_updated_labels.json")
    edit(body)
    return json.dumps(body).encode()


def _ado(edit: Any) -> bytes:
    body = payload("ado/workitem_updated.json")
    edit(body)
    return json.dumps(body).encode()


JIRA_CASES: dict[str, tuple[bytes, int, str]] = {
    "not json": (b"{not json", 400, "malformed-webhook"),
    "empty": (b"", 400, "malformed-webhook"),
    "a list": (b"[1, 2]", 400, "malformed-webhook"),
    "binary": (b"\xff\xfe\x00garbage", 400, "malformed-webhook"),
    "no issue": (_jira(lambda b: b.pop("issue")), 422, "invalid-webhook"),
    "issue not an object": (_jira(lambda b: b.update(issue="PAY-12")), 422, "invalid-webhook"),
    "no key": (_jira(lambda b: b["issue"].pop("key")), 422, "invalid-webhook"),
    "no fields": (_jira(lambda b: b["issue"].pop("fields")), 422, "invalid-webhook"),
    "no event": (_jira(lambda b: b.pop("webhookEvent")), 422, "invalid-webhook"),
    "unknown event": (
        _jira(lambda b: b.update(webhookEvent="totally_made_up")),
        422,
        "unsupported-webhook-event",
    ),
    "5000 labels": (
        _jira(lambda b: b["issue"]["fields"].update(labels=[f"l{i}" for i in range(5000)])),
        422,
        "invalid-webhook",
    ),
    "labels not a list": (
        _jira(lambda b: b["issue"]["fields"].update(labels="outcome-cx")),
        422,
        "invalid-webhook",
    ),
    "label not a string": (
        _jira(lambda b: b["issue"]["fields"].update(labels=[{"x": 1}])),
        422,
        "invalid-webhook",
    ),
    "huge label": (
        _jira(lambda b: b["issue"]["fields"].update(labels=["x" * 5000])),
        422,
        "invalid-webhook",
    ),
}

ADO_CASES: dict[str, tuple[bytes, int, str]] = {
    "not json": (b"<xml/>", 400, "malformed-webhook"),
    "no resource": (_ado(lambda b: b.pop("resource")), 422, "invalid-webhook"),
    "no revision": (_ado(lambda b: b["resource"].pop("revision")), 422, "invalid-webhook"),
    "no work item id": (_ado(lambda b: b["resource"].pop("workItemId")), 422, "invalid-webhook"),
    "rev not a number": (
        _ado(lambda b: b["resource"]["revision"].update(rev="five")),
        422,
        "invalid-webhook",
    ),
    "tags not a string": (
        _ado(lambda b: b["resource"]["revision"]["fields"].update({"System.Tags": ["a"]})),
        422,
        "invalid-webhook",
    ),
    "5000 tags": (
        _ado(
            lambda b: b["resource"]["revision"]["fields"].update(
                {"System.Tags": "; ".join(f"t{i}" for i in range(5000))}
            )
        ),
        422,
        "invalid-webhook",
    ),
    "unknown event": (
        _ado(lambda b: b.update(eventType="git.push")),
        422,
        "unsupported-webhook-event",
    ),
    "no event": (_ado(lambda b: b.pop("eventType")), 422, "invalid-webhook"),
}


async def _check(r: httpx.Response, client: httpx.AsyncClient, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == f"/problems/{code}"
    assert problem["detail"]
    d = await delivery(client, problem["delivery_id"])
    assert d["status"] == "rejected"
    assert d["reason"].startswith(code)


@pytest.mark.parametrize("case", list(JIRA_CASES))
async def test_jira_bad_input(outcomes_client: httpx.AsyncClient, case: str) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    before = await epic(outcomes_client, "PAY-12")
    body, status, code = JIRA_CASES[case]
    await _check(await post_jira(outcomes_client, body), outcomes_client, status, code)
    assert await epic(outcomes_client, "PAY-12") == before
    assert len(await changes(outcomes_client)) == 1


@pytest.mark.parametrize("case", list(ADO_CASES))
async def test_ado_bad_input(outcomes_client: httpx.AsyncClient, case: str) -> None:
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "processed")
    before = await epic(outcomes_client, "ADO-3107")
    body, status, code = ADO_CASES[case]
    await _check(await post_ado(outcomes_client, body), outcomes_client, status, code)
    assert await epic(outcomes_client, "ADO-3107") == before
    assert len(await changes(outcomes_client)) == 1


async def test_known_events_that_do_not_concern_epics_are_ignored(
    outcomes_client: httpx.AsyncClient,
) -> None:
    """Acknowledged with 202 (a 4xx would make ADO put the subscription on probation)."""
    comment = {"timestamp": 1775038530412, "webhookEvent": "comment_created", "comment": {}}
    accepted(await post_jira(outcomes_client, comment), "ignored")
    body = payload("ado/workitem_updated.json")
    body["eventType"] = "workitem.commented"
    accepted(await post_ado(outcomes_client, body), "ignored")


async def test_oversized_body_is_recorded_truncated(webhook_client: ClientFactory) -> None:
    async with webhook_client(max_body_bytes=100_000) as client:
        body = payload("jira/issue_created.json")
        body["issue"]["fields"]["description"] = "x" * 5_000_000
        data = json.dumps(body).encode()
        r = await post_jira(client, data)
        assert r.status_code == 413, r.text
        problem = r.json()
        assert problem["type"] == "/problems/payload-too-large"
        d = await delivery(client, problem["delivery_id"])
        assert d["status"] == "rejected"
        assert d["event_type"] is None or d["event_type"] == "jira:issue_created"
        assert 0 < d["body_size"] <= 64 * 1024
        assert str(len(data)) in d["reason"]
        assert (await client.post(f"/v1/webhook-deliveries/{d['id']}/replay")).status_code == 409
        assert (await client.get("/v1/epics/PAY-12")).status_code == 404
        # Other routes keep the plain 413 without recording anything.
        r = await client.post(
            "/v1/epics", content=data, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413
        assert len(await deliveries(client)) == 1
