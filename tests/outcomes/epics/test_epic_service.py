"""The service functions webhooks and GraphQL reuse: restore, source fields, actors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ledgerkit.db import Database
from ledgerkit.errors import PreconditionFailed, ValidationFailed
from outcomes.epics import service
from outcomes.epics.errors import DuplicateEpicKey
from outcomes.epics.schemas import EpicCreate, EpicFilters


async def test_service_round_trip(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    db = Database(database_urls["outcomes"])
    try:
        async with db.session(write=True) as s:
            epic = await service.create_epic(
                s,
                EpicCreate(key="JIRA-7", title="From Jira", source="jira", streams=["cx"]),
                "jira",
                source_fields={"source_rev": 3, "warnings": ["unknown label foo"]},
            )
            assert epic.version == 1
        async with db.session(write=True) as s:
            epic = await service.get_epic(s, "JIRA-7")
            epic = await service.update_epic(s, epic, {"status": "paused"}, "jira")
            epic = await service.archive_epic(s, epic, "jira", expected_version=2)
            with pytest.raises(PreconditionFailed):
                await service.archive_epic(s, epic, "jira", expected_version=1)
        async with db.session(write=True) as s:
            epic = await service.restore_epic(s, await service.get_epic(s, "JIRA-7"), "ado")
            assert (epic.status, epic.version, epic.archived_at) == ("paused", 4, None)
            # source bookkeeping alone is silent: no version bump, no change entry
            epic = await service.update_epic(s, epic, {}, "jira", source_fields={"source_rev": 9})
            assert (epic.version, epic.source_rev) == (4, 9)
            with pytest.raises(ValidationFailed):
                await service.update_epic(s, epic, {"streams": ["Growth"]}, "jira")
        async with db.session() as s:
            rows, cursor = await service.list_epics(s, EpicFilters(stream="CX"), 10, None)
            assert [e.key for e in rows] == ["JIRA-7"] and cursor is None
            read = service.epic_read(rows[0])
            assert read.warnings == ["unknown label foo"]
    finally:
        await db.dispose()

    log = (await outcomes_client.get("/v1/changes")).json()["items"]
    assert [(c["action"], c["actor"], c["data"]["version"]) for c in log] == [
        ("created", "jira", 1),
        ("updated", "jira", 2),
        ("archived", "jira", 3),
        ("restored", "ado", 4),
    ]


def _entries_without_identity(log: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Change entries minus what differs between two creates of the same content."""
    drop = {"id", "key", "created_at", "updated_at", "archived_at"}
    return [
        (
            c["actor"],
            c["entity"],
            c["action"],
            {k: v for k, v in c["data"].items() if k not in drop},
        )
        for c in log
    ]


def _drafts(prefix: str) -> list[service.NewEpic]:
    return [
        service.NewEpic(
            EpicCreate(key=f"{prefix}-1", title="One", streams=["cx", "Revenue"]), "ann"
        ),
        service.NewEpic(
            EpicCreate(key=f"{prefix}-2", title="Two", source="jira", source_id="2"),
            "jira",
            source_fields={"source_rev": 4, "warnings": [{"code": "unknown-kpi"}]},
        ),
        service.NewEpic(EpicCreate(key=f"{prefix}-3", title="Three", status="archived"), "bob"),
    ]


async def test_create_epics_is_create_epic_one_after_another(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    db = Database(database_urls["outcomes"])
    seen: list[str] = []

    async def each(i: int, epic: Any) -> None:
        seen.append(f"{i}:{epic.key}")

    try:
        async with db.session(write=True) as s:
            for draft in _drafts("ONE"):
                await service.create_epic(
                    s, draft.data, draft.actor, source_fields=draft.source_fields
                )
        async with db.session(write=True) as s:
            made = await service.create_epics(s, _drafts("BULK"), each=each)
            assert [e.key for e in made] == ["BULK-1", "BULK-2", "BULK-3"]
            assert all(e.pk is not None for e in made)
        assert seen == ["0:BULK-1", "1:BULK-2", "2:BULK-3"]
        # A key taken, or repeated within the call: nothing is written.
        for keys in (["NEW-1", "ONE-2"], ["NEW-1", "NEW-1"]):
            async with db.session(write=True) as s:
                drafts = [service.NewEpic(EpicCreate(key=k, title="x"), "ann") for k in keys]
                with pytest.raises(DuplicateEpicKey) as caught:
                    await service.create_epics(s, drafts)
                assert caught.value.extra["key"] == keys[1]
        async with db.session() as s:
            rows, _ = await service.list_epics(s, EpicFilters(include_archived=True), 50, None)
            assert [e.key for e in rows] == [
                "ONE-1",
                "ONE-2",
                "ONE-3",
                "BULK-1",
                "BULK-2",
                "BULK-3",
            ]
            bulk_cx, _ = await service.list_epics(s, EpicFilters(stream="Revenue"), 50, None)
            assert [e.key for e in bulk_cx] == ["ONE-1", "BULK-1"]  # stream rows too
    finally:
        await db.dispose()

    log = (await outcomes_client.get("/v1/changes")).json()["items"]
    one, bulk = _entries_without_identity(log[:3]), _entries_without_identity(log[3:])
    assert bulk == one
    assert [c["data"]["key"] for c in log[3:]] == ["BULK-1", "BULK-2", "BULK-3"]
    assert (await outcomes_client.get("/v1/audit/verify")).json()["ok"] is True
