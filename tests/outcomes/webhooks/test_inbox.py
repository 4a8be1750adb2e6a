"""The inbox: every delivery stored before processing, listed and replayed by admins;
a failed delivery replays once its cause is fixed; a database outage is a 503."""

from __future__ import annotations

import httpx

from ledgerkit.testing import app_client
from outcomes.app import create_app
from outcomes.settings import OutcomesSettings
from tests.conftest import KEYS
from tests.outcomes.builders import make_epic
from tests.outcomes.webhooks.conftest import ClientFactory
from tests.outcomes.webhooks.helpers import (
    accepted,
    deliveries,
    delivery,
    epic,
    post_ado,
    post_jira,
    raw,
)


async def test_list_filters_and_pages(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    accepted(await post_jira(outcomes_client, raw("jira/issue_created_story.json")), "ignored")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_created.json")), "processed")
    assert (await post_ado(outcomes_client, b"nope")).status_code == 400
    every = await deliveries(outcomes_client)
    assert [(d["source"], d["status"]) for d in every] == [
        ("jira", "processed"),
        ("jira", "ignored"),
        ("ado", "processed"),
        ("ado", "rejected"),
    ]
    assert "body" not in every[0]
    assert every[0]["body_size"] == len(raw("jira/issue_created.json"))
    assert [d["status"] for d in await deliveries(outcomes_client, source="ado")] == [
        "processed",
        "rejected",
    ]
    assert len(await deliveries(outcomes_client, status="processed", source="jira")) == 1
    page = (await outcomes_client.get("/v1/webhook-deliveries", params={"limit": 3})).json()
    assert len(page["items"]) == 3
    rest = await outcomes_client.get(
        "/v1/webhook-deliveries", params={"limit": 3, "cursor": page["next_cursor"]}
    )
    assert [d["status"] for d in rest.json()["items"]] == ["rejected"]
    assert rest.json()["next_cursor"] is None
    bad = await outcomes_client.get("/v1/webhook-deliveries", params={"status": "bogus"})
    assert bad.status_code == 422
    detail = await delivery(outcomes_client, every[3]["id"])
    assert detail["body"] == "nope"
    r = await outcomes_client.get("/v1/webhook-deliveries/nope")
    assert r.status_code == 404
    assert r.json()["type"] == "/problems/webhook-delivery-not-found"


async def test_inbox_needs_admin(outcomes_client: httpx.AsyncClient) -> None:
    d = accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    for key, status in ((KEYS["read"], 403), (KEYS["write"], 403), ("", 401)):
        h = {"Authorization": f"Bearer {key}"} if key else {"Authorization": ""}
        assert (
            await outcomes_client.get("/v1/webhook-deliveries", headers=h)
        ).status_code == status
        assert (
            await outcomes_client.get(f"/v1/webhook-deliveries/{d}", headers=h)
        ).status_code == status
        r = await outcomes_client.post(f"/v1/webhook-deliveries/{d}/replay", headers=h)
        assert r.status_code == status


async def test_failed_delivery_replays_after_the_key_conflict_is_removed(
    outcomes_client: httpx.AsyncClient,
) -> None:
    manual = await make_epic(outcomes_client, key="PAY-12", title="Typed in by hand")
    r = await post_jira(outcomes_client, raw("jira/issue_created.json"))
    failed = accepted(r, "failed")
    assert "PAY-12" in r.json()["reason"]
    assert (await epic(outcomes_client, "PAY-12"))["title"] == "Typed in by hand"
    assert [d["id"] for d in await deliveries(outcomes_client, status="failed")] == [failed]
    # Jira's update arrives meanwhile and fails the same way (the epic does not exist yet).
    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_labels.json")), "failed")

    r = await outcomes_client.patch(f"/v1/epics/{manual['id']}", json={"key": "PAY-12-OLD"})
    assert r.status_code == 200, r.text
    r = await outcomes_client.post(f"/v1/webhook-deliveries/{failed}/replay")
    assert r.status_code == 200, r.text
    replayed = r.json()
    assert (replayed["status"], replayed["attempts"]) == ("processed", 2)
    e = await epic(outcomes_client, "PAY-12")
    assert (e["source"], e["streams"], replayed["epic_id"]) == ("jira", ["CX"], e["id"])
    # Replaying again is harmless (same state, no new version).
    r = await outcomes_client.post(f"/v1/webhook-deliveries/{failed}/replay")
    assert r.json()["status"] == "processed"
    assert (await epic(outcomes_client, "PAY-12"))["version"] == e["version"]


async def test_ignored_delivery_replays_after_config_change(
    webhook_client: ClientFactory,
) -> None:
    async with webhook_client() as client:
        d = accepted(await post_jira(client, raw("jira/issue_created_story.json")), "ignored")
    async with webhook_client(webhook_epic_types=["Epic", "Story"]) as client:
        r = await client.post(f"/v1/webhook-deliveries/{d}/replay")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "processed"
        assert (await epic(client, "PAY-15"))["streams"] == ["Revenue"]


async def test_database_down_is_503_with_retry_after(outcomes_settings: OutcomesSettings) -> None:
    settings = OutcomesSettings(
        **{
            **outcomes_settings.model_dump(),
            "database_url": "postgresql://postgres@127.0.0.1:1/nowhere",
            "db_connect_timeout": 1,
        }
    )
    async with app_client(create_app(settings)) as client:
        for r in (
            await post_jira(client, raw("jira/issue_created.json")),
            await post_ado(client, raw("ado/workitem_created.json")),
        ):
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "5"
            assert r.headers["content-type"].startswith("application/problem+json")
