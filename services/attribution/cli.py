"""What the `ledger sync` and `ledger runs create|verify` commands do, against the
attribution database named by the settings (no HTTP server needed)."""

from __future__ import annotations

import getpass
from collections.abc import Callable

from attribution.replica.follower import Follower, SyncResult
from attribution.runs import service as runs
from attribution.runs.schemas import RunCreate, RunRead, VerifyRead
from attribution.settings import AttributionSettings
from ledgerkit.auth import SCOPES, Principal
from ledgerkit.db import Database


def cli_principal() -> Principal:
    """The operator at the console: database access already implies every scope."""
    return Principal(f"cli:{getpass.getuser()}", frozenset(SCOPES))


async def sync_once(
    settings: AttributionSettings, progress: Callable[[int, int], None] | None = None
) -> SyncResult:
    db = Database(settings.database_url)
    try:
        follower = Follower(
            db, outcomes_url=settings.outcomes_url, api_key=settings.outcomes_api_key
        )
        return await follower.sync_once(progress)
    finally:
        await db.dispose()


async def create_run(settings: AttributionSettings, body: RunCreate) -> RunRead:
    db = Database(settings.database_url)
    try:
        async with db.session(write=True) as session:
            return await runs.create_run(db, session, cli_principal(), body)
    finally:
        await db.dispose()


async def verify_run(settings: AttributionSettings, run_id: str) -> VerifyRead:
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            return await runs.verify_run(session, run_id)
    finally:
        await db.dispose()
