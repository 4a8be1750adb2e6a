"""The service functions webhooks and GraphQL reuse: restore, source fields, actors."""

from __future__ import annotations

import httpx
import pytest

from ledgerkit.db import Database
from ledgerkit.errors import PreconditionFailed, ValidationFailed
from outcomes.epics import service
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
