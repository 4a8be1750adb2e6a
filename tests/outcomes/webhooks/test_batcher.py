"""Group commit: concurrent deliveries are stored in one transaction and processed in
another, and every request still gets its own outcome; one bad delivery fails alone."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from ledgerkit.testing import app_client
from outcomes.app import create_app
from outcomes.settings import OutcomesSettings
from outcomes.webhooks.batcher import Batcher
from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.service import Accepted, prepare
from tests.conftest import KEYS
from tests.outcomes.builders import make_epic, make_kpi
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


@asynccontextmanager
async def _app(settings: OutcomesSettings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app_client(app, key=KEYS["admin"]) as client:
        yield app, client


def _jira_issue(i: int, labels: list[str] | None = None) -> dict[str, Any]:
    body = payload("jira/issue_created.json")
    body["issue"]["id"], body["issue"]["key"] = str(40000 + i), f"BAT-{i}"
    if labels is not None:
        body["issue"]["fields"]["labels"] = labels
    return body


async def _verified(client: httpx.AsyncClient) -> dict[str, Any]:
    v: dict[str, Any] = (await client.get("/v1/audit/verify")).json()
    assert v["ok"] is True, v
    return v


async def test_many_concurrent_deliveries_each_get_their_own_outcome(
    outcomes_settings: OutcomesSettings,
) -> None:
    async with _app(outcomes_settings) as (app, client):
        await make_kpi(client, "cost-per-ticket")
        ado = [
            raw("ado/workitem_created.json"),
            raw("ado/workitem_updated_rev_older.json"),
            raw("ado/workitem_updated.json"),
        ] * 2  # each twice: one of each pair is a duplicate
        random.Random(5).shuffle(ado)
        calls: list[tuple[str, Any]] = [("jira", _jira_issue(i)) for i in range(30)]
        calls += [("retry", None)] * 4  # one Jira delivery retried four times at once
        calls += [("ado", b) for b in ado]
        random.Random(11).shuffle(calls)
        retry = raw("jira/issue_created.json")

        async def send(kind: str, body: Any) -> httpx.Response:
            if kind == "jira":
                return await post_jira(client, body)
            if kind == "retry":
                return await post_jira(client, retry, identifier="retried-delivery")
            return await post_ado(client, body)

        rs = await asyncio.gather(*(send(kind, body) for kind, body in calls))
        assert all(r.status_code == 202 for r in rs), [r.text for r in rs]
        batcher: Batcher = app.state.webhook_batcher
        assert batcher.largest > 1  # the deliveries were grouped
        statuses: dict[str, list[str]] = {"jira": [], "retry": [], "ado": []}
        for (kind, body), r in zip(calls, rs, strict=True):
            statuses[kind].append(r.json()["status"])
            if kind == "jira":  # its own delivery, its own epic
                info = await delivery(client, r.json()["delivery_id"])
                assert info["item_key"] == body["issue"]["id"]
                assert info["status"] == "processed"
                e = await epic(client, body["issue"]["key"])
                assert info["epic_id"] == e["id"]
        assert statuses["jira"] == ["processed"] * 30
        assert sorted(statuses["retry"]) == ["duplicate"] * 3 + ["processed"]
        assert statuses["ado"].count("duplicate") == 3
        assert set(statuses["ado"]) <= {"processed", "stale", "duplicate"}
        e = await epic(client, "ADO-3107")
        assert (e["status"], e["labels"]) == ("active", ["Outcome:Cost", "KPI:cost-per-ticket"])
        links = (await client.get("/v1/epics/ADO-3107/contributions")).json()["items"]
        assert [c["kpi"] for c in links] == ["cost-per-ticket"]
        assert (await epic(client, "PAY-12"))["version"] == 1
        inbox = await deliveries(client)
        assert len(inbox) == len(calls)
        assert {d["status"] for d in inbox} <= {"processed", "stale", "duplicate"}
        v = await _verified(client)
        assert v["length"] == len(await changes(client))


async def test_one_poisoned_delivery_fails_alone(outcomes_settings: OutcomesSettings) -> None:
    async with _app(outcomes_settings) as (app, client):
        manual = await make_epic(client, key="PAY-12", title="Typed in by hand")
        bodies: list[bytes | dict[str, Any]] = [_jira_issue(i) for i in range(20)]
        bodies.insert(7, raw("jira/issue_created.json"))  # PAY-12: the key is taken
        rs = await asyncio.gather(*(post_jira(client, b) for b in bodies))
        statuses = [r.json()["status"] for r in rs]
        assert statuses == ["processed"] * 7 + ["failed"] + ["processed"] * 13, statuses
        assert "PAY-12" in rs[7].json()["reason"]
        assert (await epic(client, "PAY-12"))["title"] == "Typed in by hand"
        for i in range(20):
            assert (await epic(client, f"BAT-{i}"))["source"] == "jira"
        failed = await deliveries(client, status="failed")
        assert [d["id"] for d in failed] == [rs[7].json()["delivery_id"]]
        assert len(await deliveries(client)) == 21  # every delivery is in the inbox
        await _verified(client)
        # Fix the cause, replay: processed.
        r = await client.patch(f"/v1/epics/{manual['id']}", json={"key": "PAY-12-OLD"})
        assert r.status_code == 200, r.text
        r = await client.post(f"/v1/webhook-deliveries/{failed[0]['id']}/replay")
        assert r.json()["status"] == "processed"
        assert app.state.webhook_batcher.largest > 1


# The batcher driven directly: deliveries submitted together form exactly one batch (the
# drain task runs after every submitting task has queued), which pins in-batch behaviour.


async def _submit_together(
    app: FastAPI, items: list[tuple[str, bytes, dict[str, str]]]
) -> list[Accepted | BaseException]:
    batcher: Batcher = app.state.webhook_batcher
    config = WebhookConfig.from_settings(app.state.settings)
    before = batcher.batches
    prepared = [prepare(source, headers, body, config) for source, body, headers in items]
    out = await asyncio.gather(
        *(batcher.submit(p, config) for p in prepared), return_exceptions=True
    )
    assert batcher.batches == before + 1
    return out


def _jira(body: bytes | dict[str, Any], identifier: str) -> tuple[str, bytes, dict[str, str]]:
    data = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return "jira", data, {"x-atlassian-webhook-identifier": identifier}


async def test_in_one_batch_duplicates_and_order_are_decided_as_alone(
    outcomes_settings: OutcomesSettings,
) -> None:
    async with _app(outcomes_settings) as (app, client):
        created, labels = raw("jira/issue_created.json"), raw("jira/issue_updated_labels.json")
        items = [
            ("ado", raw("ado/workitem_updated.json"), {}),  # rev 3 before rev 1 and 2
            _jira(labels, "b-2"),  # an update of PAY-12 before its create
            ("ado", raw("ado/workitem_created.json"), {}),
            _jira(created, "b-1"),
            _jira(created, "b-1"),  # the same delivery again, in the same batch
            ("ado", raw("ado/workitem_updated_rev_older.json"), {}),
            ("ado", raw("ado/workitem_updated.json"), {}),  # duplicate of the first
            _jira(_jira_issue(1), "b-3"),
        ]
        out = await _submit_together(app, items)
        assert all(isinstance(o, Accepted) for o in out), out
        got = [o.status for o in out if isinstance(o, Accepted)]
        assert got == [
            "processed",
            "processed",
            "stale",
            "stale",
            "duplicate",
            "stale",
            "duplicate",
            "processed",
        ]
        e = await epic(client, "PAY-12")  # made by the update; the older create is stale
        update = payload("jira/issue_updated_labels.json")["issue"]["fields"]
        assert (e["version"], e["labels"]) == (1, update["labels"])
        a = await epic(client, "ADO-3107")
        assert a["status"] == "active"
        assert (await epic(client, "BAT-1"))["source_id"] == "40001"
        await _verified(client)


async def test_in_one_batch_a_failure_falls_back_to_one_by_one(
    outcomes_settings: OutcomesSettings,
) -> None:
    async with _app(outcomes_settings) as (app, client):
        await make_epic(client, key="PAY-12", title="Typed in by hand")
        items = [_jira(_jira_issue(i), f"f-{i}") for i in range(5)]
        items.insert(2, _jira(raw("jira/issue_created.json"), "f-poison"))
        out = await _submit_together(app, items)
        got = [o.status if isinstance(o, Accepted) else repr(o) for o in out]
        assert got == ["processed"] * 2 + ["failed"] + ["processed"] * 3
        inbox = await deliveries(client)
        assert [d["status"] for d in inbox] == got  # stored in order, then processed
        assert all(d["attempts"] == 1 for d in inbox)
        assert len(await changes(client)) == 1 + 5  # the hand-made epic and five creates
        await _verified(client)


async def test_a_lone_delivery_and_shutdown(outcomes_settings: OutcomesSettings) -> None:
    app = create_app(outcomes_settings)
    async with app_client(app, key=KEYS["admin"]) as client:
        accepted(await post_jira(client, raw("jira/issue_created.json")), "processed")
        batcher: Batcher = app.state.webhook_batcher
        assert (batcher.batches, batcher.largest) == (1, 1)
    # After shutdown a late delivery is still stored and processed (alone).
    config = WebhookConfig.from_settings(app.state.settings)
    body = raw("jira/issue_updated_labels.json")
    source, data, headers = _jira(body, "late")
    try:
        late = await batcher.submit(prepare(source, headers, data, config), config)
    finally:
        await app.state.db.dispose()
    assert late.status == "processed"


async def test_overlapping_batches_keep_each_items_arrival_order(
    outcomes_settings: OutcomesSettings,
) -> None:
    """One delivery per batch, so consecutive batches overlap (two at once on PostgreSQL):
    per item the deliveries must still be decided in arrival order."""
    async with _app(outcomes_settings) as (app, client):
        config = WebhookConfig.from_settings(app.state.settings)
        batcher = Batcher(app.state.db, max_batch=1)
        created = payload("jira/issue_created.json")
        update = payload("jira/issue_updated_labels.json")
        items: list[tuple[str, bytes, dict[str, str]]] = []
        for step, body in enumerate((created, update, created)):  # the last one: stale
            for i in range(6):
                b = {**body, "issue": {**body["issue"], "id": str(50000 + i), "key": f"OV-{i}"}}
                items.append(_jira(b, f"ov-{i}-{step}"))
        prepared = [prepare(source, headers, data, config) for source, data, headers in items]
        out = await asyncio.gather(*(batcher.submit(p, config) for p in prepared))
        await batcher.close()
        assert batcher.batches == len(items)
        assert [o.status for o in out] == ["processed"] * 12 + ["stale"] * 6
        for i in range(6):
            e = await epic(client, f"OV-{i}")
            assert (e["version"], e["labels"]) == (2, update["issue"]["fields"]["labels"])
        await _verified(client)
