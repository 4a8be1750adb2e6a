"""Group commit: concurrent deliveries are stored in one transaction and processed in
another, and every request still gets its own outcome; one bad delivery fails alone."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from ledgerkit.testing import app_client
from outcomes.app import create_app
from outcomes.settings import OutcomesSettings
from outcomes.webhooks import batcher as batcher_module
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


def _run_of_creates(base: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """Creates of new issues, a non-epic issue, an update of one created just before, and
    another create: `base` shifts the issue ids and keys (BAT-<base + i>)."""
    story = payload("jira/issue_created_story.json")
    story["issue"]["id"], story["issue"]["key"] = str(40000 + base + 3), f"BAT-{base + 3}"
    update = payload("jira/issue_updated_labels.json")
    update["issue"]["id"], update["issue"]["key"] = str(40000 + base + 1), f"BAT-{base + 1}"
    update["issue"]["fields"]["labels"] = ["outcome-revenue"]
    bodies = [
        _jira_issue(base, ["outcome-cx", "kpi-cost-per-ticket", "kpi-nope"]),
        _jira_issue(base + 1),
        _jira_issue(base + 2, ["outcome-cost", "outcome-risk"]),
        story,
        update,
        _jira_issue(base + 4),
    ]
    return [_jira(b, f"run-{base}-{i}") for i, b in enumerate(bodies)]


def _without_identity(entry: dict[str, Any], base: int) -> tuple[Any, ...]:
    """A change entry with what differs between the two runs (ids, keys, times) neutral."""
    text = json.dumps(entry["data"], sort_keys=True)
    for i in range(5):
        text = text.replace(f"BAT-{base + i}", f"BAT-n{i}").replace(f"{40000 + base + i}", f"n{i}")
    data = {k: v for k, v in json.loads(text).items() if k not in {"id", "epic_id"}}
    for k in ("created_at", "updated_at"):
        data.pop(k, None)
    return entry["actor"], entry["entity"], entry["action"], data


async def test_in_one_batch_a_run_of_creates_is_written_together_as_one_by_one(
    outcomes_settings: OutcomesSettings,
) -> None:
    """Consecutive creates of new epics share one key check, one epic INSERT and one stream
    INSERT; an event of an item being created writes them first. Outcomes, epics and change
    log are those of the same deliveries processed one by one."""
    async with _app(outcomes_settings) as (app, client):
        await make_kpi(client, "cost-per-ticket")
        setup = len(await changes(client))
        # One by one (a batch each), as the reference.
        config = WebhookConfig.from_settings(app.state.settings)
        single = Batcher(app.state.db, max_batch=1)
        alone = []
        for source, data, headers in _run_of_creates(100):
            alone.append(await single.submit(prepare(source, headers, data, config), config))
        await single.close()
        reference = (await changes(client))[setup:]

        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(" ".join(statement.replace('"', "").split()))

        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            out = await _submit_together(app, _run_of_creates(0))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        batched = (await changes(client))[setup + len(reference) :]

        assert [(o.status, o.reason) for o in out if isinstance(o, Accepted)] == [
            (o.status, o.reason) for o in alone
        ]
        assert [o.status for o in alone] == ["processed"] * 3 + ["ignored"] + ["processed"] * 2
        assert [_without_identity(c, 0) for c in batched] == [
            _without_identity(c, 100) for c in reference
        ]
        assert [(c["entity"], c["action"]) for c in batched] == [
            ("epic", "created"),
            ("contribution", "created"),  # right after its epic, as one by one
            ("epic", "created"),
            ("epic", "created"),
            ("epic", "updated"),
            ("epic", "created"),
        ]
        # [BAT-0, BAT-1, BAT-2] were held until the update of BAT-1, then BAT-4 alone: two
        # stream INSERTs (and the update's), two epic INSERTs (SQLite: the ORM inserts row
        # by row there, as it cannot match RETURNING rows to objects).
        inserts = 4 if app.state.db.is_sqlite else 2
        assert sum(s.startswith("INSERT INTO epics ") for s in statements) == inserts
        assert sum(s.startswith("INSERT INTO epic_streams ") for s in statements) == 2 + 1
        # The first run's key check came with the batch's epics; the second is read, since
        # the update wrote in between.
        assert sum(s.startswith("SELECT epics.key FROM epics") for s in statements) == 1
        assert sum(s.startswith("UPDATE epics ") for s in statements) == 1  # the update: one
        e = await epic(client, "BAT-1")
        assert (e["version"], e["streams"]) == (2, ["Revenue"])
        e = await epic(client, "BAT-0")
        assert e["warnings"] == (await epic(client, "BAT-100"))["warnings"] != []
        assert (await epic(client, "BAT-2"))["streams"] == ["Cost", "Risk"]
        links = (await client.get("/v1/epics/BAT-0/contributions")).json()["items"]
        assert [c["kpi"] for c in links] == ["cost-per-ticket"]
        await _verified(client)


async def test_database_lost_during_processing_fails_the_batch_with_503_then_replays(
    outcomes_settings: OutcomesSettings,
) -> None:
    """The deliveries are stored (transaction A), then the database goes away while their
    batch is processed (B): they are marked `failed`, each request gets a 503 the source
    retries, and a replay applies them.

    PostgreSQL: B's first statement (its item locks) is replaced by one that terminates its
    own server process — a real lost connection. SQLite has no server to lose: B's first
    statement (the dedupe read) raises the driver's own OperationalError instead."""
    async with _app(outcomes_settings) as (app, client):
        db = app.state.db
        engine = db.engine.sync_engine
        hits: list[str] = []

        def lose_b(
            conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
        ) -> tuple[str, Any]:
            first_of_b = "FROM unnest" if not db.is_sqlite else "webhook_deliveries.dedupe_key IN"
            if hits or first_of_b not in statement:
                return statement, params
            hits.append(statement)
            if db.is_sqlite:
                raise conn.dialect.loaded_dbapi.OperationalError("disk I/O error")
            return "SELECT pg_terminate_backend(pg_backend_pid())", ()

        event.listen(engine, "before_cursor_execute", lose_b, retval=True)
        try:
            rs = await asyncio.gather(*(post_jira(client, _jira_issue(i)) for i in range(6)))
        finally:
            event.remove(engine, "before_cursor_execute", lose_b)
        assert len(hits) == 1
        lost = [r for r in rs if r.status_code == 503]
        assert lost, [r.text for r in rs]  # the batch that lost its database
        for r in lost:
            assert r.headers["retry-after"] == "5"
            assert r.headers["content-type"].startswith("application/problem+json")
            problem = r.json()
            assert problem["type"] == "/problems/webhook-store-unavailable"
            assert problem["status"] == 503
        assert all(r.json()["status"] == "processed" for r in rs if r not in lost)
        failed = await deliveries(client, status="failed")
        assert {d["id"] for d in failed} == {r.json()["delivery_id"] for r in lost}
        assert all(d["reason"] and "Error" in d["reason"] for d in failed)
        assert len(await deliveries(client)) == 6  # all stored before processing
        for d in failed:  # the database is back: replay
            r = await client.post(f"/v1/webhook-deliveries/{d['id']}/replay")
            assert (r.status_code, r.json()["status"]) == (200, "processed"), r.text
        for i in range(6):
            assert (await epic(client, f"BAT-{i}"))["source_id"] == str(40000 + i)
        assert {d["status"] for d in await deliveries(client)} == {"processed"}
        await _verified(client)


async def test_in_one_batch_a_key_freed_by_an_earlier_delivery_can_be_taken(
    outcomes_settings: OutcomesSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An issue moved to another project frees its key; a new issue with that key later in
    the same batch gets it — decided in the batch (the key check is read again after a
    write), not by falling back to one by one."""
    async with _app(outcomes_settings) as (app, client):
        accepted(await post_jira(client, raw("jira/issue_created.json")), "processed")

        async def no_fallback(*args: Any) -> None:
            raise AssertionError("the batch fell back to one by one")

        monkeypatch.setattr(batcher_module.service, "process", no_fallback)
        moved = payload("jira/issue_updated_labels.json")
        moved["issue"]["key"] = "MOVED-12"
        taken = _jira_issue(7)
        taken["issue"]["key"] = "PAY-12"
        out = await _submit_together(app, [_jira(moved, "k-1"), _jira(taken, "k-2")])
        assert [o.status if isinstance(o, Accepted) else repr(o) for o in out] == [
            "processed",
            "processed",
        ]
        assert (await epic(client, "MOVED-12"))["source_id"] == "10412"
        assert (await epic(client, "PAY-12"))["source_id"] == "40007"
        await _verified(client)
