"""Jira Cloud deliveries through HTTP, from the realistic fixtures to the resulting epics."""

from __future__ import annotations

import httpx

from tests.outcomes.webhooks.conftest import ClientFactory
from tests.outcomes.webhooks.helpers import (
    accepted,
    changes,
    delivery,
    epic,
    payload,
    post_jira,
    raw,
)


async def test_created_makes_an_epic_from_the_issue(outcomes_client: httpx.AsyncClient) -> None:
    r = await post_jira(outcomes_client, raw("jira/issue_created.json"))
    delivery_id = accepted(r, "processed")
    e = await epic(outcomes_client, "PAY-12")
    assert e["title"] == "Lift checkout conversion on mobile web"
    assert e["source"] == "jira"
    assert e["source_id"] == "10412"
    assert e["streams"] == ["CX"]
    assert e["labels"] == ["outcome-cx"]
    assert e["status"] == "proposed"
    assert e["owner"] == "Mara Lindqvist"
    assert e["team"] == "Payments Experience"
    assert e["start_date"] == "2026-04-06"
    assert e["target_date"] == "2026-06-30"
    d = await delivery(outcomes_client, delivery_id)
    assert d["status"] == "processed"
    assert d["epic_id"] == e["id"]
    assert d["attempts"] == 1
    assert d["event_type"] == "jira:issue_created"
    feed = await changes(outcomes_client)
    assert [(c["actor"], c["entity"], c["action"]) for c in feed] == [("jira", "epic", "created")]


async def test_label_and_status_updates_then_delete(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_labels.json")), "processed")
    e = await epic(outcomes_client, "PAY-12")
    assert e["streams"] == ["Revenue", "CX"]
    assert e["labels"] == ["kpi-checkout-conversion", "outcome-cx", "outcome-revenue"]
    assert e["status"] == "proposed"
    # No such KPI (yet): a warning on the epic, not an error.
    assert [(w["code"], w["kpi"], w["source"]) for w in e["warnings"]] == [
        ("unknown-kpi", "checkout-conversion", "jira")
    ]

    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_status.json")), "processed")
    e = await epic(outcomes_client, "PAY-12")
    assert e["status"] == "active"

    accepted(await post_jira(outcomes_client, raw("jira/issue_deleted.json")), "processed")
    e = await epic(outcomes_client, "PAY-12")
    assert e["status"] == "archived"
    assert e["archived_at"] is not None
    feed = [c for c in await changes(outcomes_client) if c["entity"] == "epic"]
    assert [(c["actor"], c["action"]) for c in feed] == [
        ("jira", "created"),
        ("jira", "updated"),
        ("jira", "updated"),
        ("jira", "archived"),
    ]


async def test_thin_delete_archives(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    accepted(await post_jira(outcomes_client, raw("jira/issue_deleted_thin.json")), "processed")
    assert (await epic(outcomes_client, "PAY-12"))["status"] == "archived"
    # A delete of an issue the ledger never saw is recorded and ignored.
    body = payload("jira/issue_deleted_thin.json")
    body["issue"] = {"id": "99999", "key": "PAY-999"}
    accepted(await post_jira(outcomes_client, body), "ignored")


async def test_story_is_ignored(outcomes_client: httpx.AsyncClient) -> None:
    d = accepted(await post_jira(outcomes_client, raw("jira/issue_created_story.json")), "ignored")
    assert "Story" in (await delivery(outcomes_client, d))["reason"]
    r = await outcomes_client.get("/v1/epics/PAY-15")
    assert r.status_code == 404


async def test_other_types_become_epics_when_configured(webhook_client: ClientFactory) -> None:
    async with webhook_client(webhook_epic_types=["Epic", "story"]) as client:
        accepted(await post_jira(client, raw("jira/issue_created_story.json")), "processed")
        e = await epic(client, "PAY-15")
        assert e["streams"] == ["Revenue"]
        assert e["owner"] is None  # unassigned: assignee null


async def test_duplicate_delivery_is_applied_once(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    body = raw("jira/issue_updated_labels.json")
    first = accepted(await post_jira(outcomes_client, body, identifier="dup-1"), "processed")
    again = await post_jira(
        outcomes_client, body, identifier="dup-1", headers={"X-Atlassian-Webhook-Retry": "1"}
    )
    second = accepted(again, "duplicate")
    assert first in (await delivery(outcomes_client, second))["reason"]
    assert (await epic(outcomes_client, "PAY-12"))["version"] == 2
    updates = [c for c in await changes(outcomes_client) if c["action"] == "updated"]
    assert len(updates) == 1


async def test_older_event_after_newer_is_stale(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_status.json")), "processed")
    before = await epic(outcomes_client, "PAY-12")
    # The label edit happened before the transition but arrives after it.
    d = accepted(await post_jira(outcomes_client, raw("jira/issue_updated_labels.json")), "stale")
    assert "older than" in (await delivery(outcomes_client, d))["reason"]
    after = await epic(outcomes_client, "PAY-12")
    assert after == before
    assert after["status"] == "active"
    # A created event arriving last is stale too.
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "stale")


async def test_removing_a_label_removes_the_stream(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_labels.json")), "processed")
    body = payload("jira/issue_updated_labels.json")
    body["issue"]["fields"]["labels"] = ["OUTCOME-Revenue", "team-payments"]
    body["issue"]["fields"]["updated"] = "2026-04-02T09:00:00.000+0000"
    accepted(await post_jira(outcomes_client, body), "processed")
    e = await epic(outcomes_client, "PAY-12")
    assert e["streams"] == ["Revenue"]
    assert e["labels"] == ["OUTCOME-Revenue", "team-payments"]
    assert e["warnings"] == []


async def test_offsets_and_renamed_statuses(webhook_client: ClientFactory) -> None:
    async with webhook_client(
        webhook_epic_types=["Epic", "Story"], jira_status_map={"Triage": "paused"}
    ) as client:
        body = payload("jira/issue_created_story.json")  # updated has a +0200 offset
        accepted(await post_jira(client, body), "processed")
        # 15:00+0200 is 13:00Z: older than 16:27:12+0200 (14:27:12Z) → stale.
        body["issue"]["fields"]["updated"] = "2026-04-03T15:00:00.000+0200"
        accepted(await post_jira(client, body), "stale")
        # 16:00-0100 is 17:00Z: newer. A configured status name wins over its category.
        body["issue"]["fields"]["updated"] = "2026-04-03T16:00:00.000-0100"
        body["issue"]["fields"]["status"]["name"] = "Triage"
        accepted(await post_jira(client, body), "processed")
        assert (await epic(client, "PAY-15"))["status"] == "paused"
        # An unknown name falls back to the status category (indeterminate → active).
        body["issue"]["fields"]["updated"] = "2026-04-03T18:00:00.000-0100"
        body["issue"]["fields"]["status"]["name"] = "Waiting for Legal"
        body["issue"]["fields"]["status"]["statusCategory"]["key"] = "indeterminate"
        accepted(await post_jira(client, body), "processed")
        assert (await epic(client, "PAY-15"))["status"] == "active"
