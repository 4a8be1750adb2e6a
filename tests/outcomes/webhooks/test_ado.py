"""Azure DevOps service-hook deliveries through HTTP, fixtures to epics."""

from __future__ import annotations

import httpx

from tests.outcomes.webhooks.helpers import (
    accepted,
    changes,
    delivery,
    epic,
    payload,
    post_ado,
    raw,
)


async def test_created_makes_an_epic(outcomes_client: httpx.AsyncClient) -> None:
    d = accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "processed")
    e = await epic(outcomes_client, "ADO-3107")
    assert e["title"] == "Reduce cost per support ticket"
    assert (e["source"], e["source_id"]) == ("ado", "3107")
    assert e["streams"] == ["Cost"]
    assert e["labels"] == ["Outcome:Cost"]
    assert e["status"] == "proposed"
    assert e["owner"] == "Priya Raman"  # from "Priya Raman <priya.raman@…>"
    assert e["team"] == "Support Platform"  # leaf of the area path
    assert (e["start_date"], e["target_date"]) == ("2026-04-06", "2026-06-30")
    info = await delivery(outcomes_client, d)
    assert (info["dedupe_key"], info["item_key"]) == ("3107:1", "3107")


async def test_update_reads_the_revision_not_the_update_id(
    outcomes_client: httpx.AsyncClient,
) -> None:
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "processed")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_updated.json")), "processed")
    e = await epic(outcomes_client, "ADO-3107")
    assert e["status"] == "active"
    assert e["labels"] == ["Outcome:Cost", "KPI:cost-per-ticket"]
    assert [w["kpi"] for w in e["warnings"]] == ["cost-per-ticket"]  # no such KPI
    # resource.id (5) is the update number: no epic ADO-5 appears.
    assert (await outcomes_client.get("/v1/epics/ADO-5")).status_code == 404


async def test_updates_out_of_order_by_rev(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "processed")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_updated.json")), "processed")
    before = await epic(outcomes_client, "ADO-3107")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_updated_rev_older.json")), "stale")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "duplicate")
    assert await epic(outcomes_client, "ADO-3107") == before


async def test_update_before_create_creates_and_create_is_then_stale(
    outcomes_client: httpx.AsyncClient,
) -> None:
    accepted(
        await post_ado(outcomes_client, raw("ado/workitem_updated_rev_older.json")), "processed"
    )
    e = await epic(outcomes_client, "ADO-3107")
    assert (e["status"], e["streams"]) == ("active", ["Cost"])
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "stale")
    assert (await epic(outcomes_client, "ADO-3107"))["status"] == "active"


async def test_duplicate_rev_is_applied_once(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "processed")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_updated.json")), "processed")
    # A second subscription (new event id, same work item + rev) — still a duplicate.
    body = payload("ado/workitem_updated.json")
    body["id"] = "11111111-2222-3333-4444-555555555555"
    body["notificationId"] = 99
    accepted(await post_ado(outcomes_client, body), "duplicate")
    assert len([c for c in await changes(outcomes_client) if c["action"] == "updated"]) == 1


async def test_delete_archives_and_restore_unarchives(outcomes_client: httpx.AsyncClient) -> None:
    for name in ("workitem_created", "workitem_updated"):
        accepted(await post_ado(outcomes_client, raw(f"ado/{name}.json")), "processed")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_deleted.json")), "processed")
    assert (await epic(outcomes_client, "ADO-3107"))["status"] == "archived"
    # An update delivered late while it is deleted: older rev → stale.
    accepted(await post_ado(outcomes_client, raw("ado/workitem_updated_rev_older.json")), "stale")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_restored.json")), "processed")
    e = await epic(outcomes_client, "ADO-3107")
    assert (e["status"], e["archived_at"]) == ("active", None)
    # Same rev as the restore but an earlier notification: the delete's retry is stale.
    retry = payload("ado/workitem_deleted.json")
    retry["id"] = "d35e7b08-0000-4e21-b6f3-0e8c2d5a7194"
    accepted(await post_ado(outcomes_client, retry), "stale")
    assert (await epic(outcomes_client, "ADO-3107"))["status"] == "active"
    # The very same delete delivered again: a duplicate.
    accepted(await post_ado(outcomes_client, raw("ado/workitem_deleted.json")), "duplicate")
    feed = [(c["actor"], c["action"]) for c in await changes(outcomes_client)]
    assert feed == [
        ("ado", "created"),
        ("ado", "updated"),
        ("ado", "archived"),
        ("ado", "restored"),
    ]


async def test_restore_arriving_before_delete(outcomes_client: httpx.AsyncClient) -> None:
    for name in ("workitem_created", "workitem_updated"):
        accepted(await post_ado(outcomes_client, raw(f"ado/{name}.json")), "processed")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_restored.json")), "processed")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_deleted.json")), "stale")
    assert (await epic(outcomes_client, "ADO-3107"))["status"] == "active"


async def test_task_is_ignored(outcomes_client: httpx.AsyncClient) -> None:
    d = accepted(await post_ado(outcomes_client, raw("ado/workitem_created_task.json")), "ignored")
    assert "Task" in (await delivery(outcomes_client, d))["reason"]
    assert (await outcomes_client.get("/v1/epics/ADO-3121")).status_code == 404


async def test_tags_are_a_set_and_removal_removes_the_stream(
    outcomes_client: httpx.AsyncClient,
) -> None:
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "processed")
    body = payload("ado/workitem_updated.json")
    fields = body["resource"]["revision"]["fields"]
    fields["System.Tags"] = "outcome: cx ;OUTCOME:Revenue; ; Outcome:Revenue;Outcome:Moonshot"
    accepted(await post_ado(outcomes_client, body), "processed")
    e = await epic(outcomes_client, "ADO-3107")
    assert e["streams"] == ["Revenue", "CX"]
    assert e["labels"] == ["outcome: cx", "OUTCOME:Revenue", "Outcome:Revenue", "Outcome:Moonshot"]
    assert [w["code"] for w in e["warnings"]] == ["unknown-stream"]
    # Tags cleared: ADO omits System.Tags altogether.
    body = payload("ado/workitem_updated.json")
    body["resource"]["rev"] = body["resource"]["revision"]["rev"] = 6
    del body["resource"]["revision"]["fields"]["System.Tags"]
    del body["resource"]["revision"]["fields"]["System.AssignedTo"]
    accepted(await post_ado(outcomes_client, body), "processed")
    e = await epic(outcomes_client, "ADO-3107")
    assert (e["streams"], e["labels"], e["warnings"], e["owner"]) == ([], [], [], None)
