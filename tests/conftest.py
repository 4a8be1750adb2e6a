"""Test harness: real databases (SQLite by default, PostgreSQL when DATABASE_URL points at
one), migrated once per session, emptied after every test; the real apps over httpx.

On PostgreSQL a fresh database is created for the session (and per xdist worker) and dropped
at the end, so leftovers from earlier runs never leak in.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ledgerkit.db import create_engine, is_sqlite, normalize_url

# Keys for tests: one per scope, plus one with every scope.
KEYS = {
    "admin": "test-admin-key",
    "read": "test-read-key",
    "write": "test-write-key",
    "finance": "test-finance-key",
}
API_KEYS_SETTING = ",".join(
    [
        f"{KEYS['admin']}:read+write+finance+admin",
        f"{KEYS['read']}:read",
        f"{KEYS['write']}:write",
        f"{KEYS['finance']}:finance",
    ]
)


def _base_url() -> str | None:
    url = os.environ.get("DATABASE_URL")
    return url if url and not is_sqlite(url) else None


async def _admin(url: str, sql: str) -> None:
    admin_url = make_url(normalize_url(url)).set(database="postgres")
    engine = create_engine(admin_url.render_as_string(hide_password=False))
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """URLs of the outcomes and attribution databases for this test session, at head."""
    from attribution.db import migrations_config as attribution_migrations
    from ledgerkit import migrate
    from outcomes.db import migrations_config as outcomes_migrations

    pg = _base_url()
    name = None
    if pg:
        name = f"ledger_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
        url = make_url(normalize_url(pg)).set(database=name).render_as_string(False)
        urls = {"outcomes": url, "attribution": url}
    else:
        d: Path = tmp_path_factory.mktemp("db")
        urls = {
            "outcomes": f"sqlite:///{d}/outcomes.db",
            "attribution": f"sqlite:///{d}/attribution.db",
        }
    asyncio.run(migrate.upgrade(urls["outcomes"], outcomes_migrations()))
    asyncio.run(migrate.upgrade(urls["attribution"], attribution_migrations()))
    yield urls
    if pg and name:
        asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def on_postgres(database_urls: dict[str, str]) -> bool:
    return not is_sqlite(database_urls["outcomes"])


async def _empty_tables(url: str, tables: list[str]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if is_sqlite(url):
                for t in tables:
                    await conn.execute(text(f'DELETE FROM "{t}"'))
            elif tables:
                quoted = ", ".join(f'"{t}"' for t in tables)
                await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(autouse=True)
async def _clean_databases(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "database_urls" not in request.fixturenames:
        return
    from attribution.models import Base as AttributionBase
    from outcomes.models import Base as OutcomesBase

    urls: dict[str, str] = request.getfixturevalue("database_urls")
    await _empty_tables(urls["outcomes"], list(OutcomesBase.metadata.tables))
    await _empty_tables(urls["attribution"], list(AttributionBase.metadata.tables))


@pytest.fixture
def outcomes_settings(database_urls: dict[str, str]):  # type: ignore[no-untyped-def]
    from outcomes.settings import OutcomesSettings

    return OutcomesSettings(
        database_url=database_urls["outcomes"],
        api_keys=API_KEYS_SETTING,
        log_json=True,
        log_level="WARNING",
        attribution_url="http://127.0.0.1:9",  # nothing listens: tests opt in to a real one
    )


@pytest.fixture
def attribution_settings(database_urls: dict[str, str]):  # type: ignore[no-untyped-def]
    from attribution.settings import AttributionSettings

    return AttributionSettings(
        database_url=database_urls["attribution"],
        api_keys=API_KEYS_SETTING,
        log_json=True,
        log_level="WARNING",
        outcomes_url="http://127.0.0.1:9",
        sync_interval=0,
    )


@pytest.fixture
async def outcomes_client(outcomes_settings):  # type: ignore[no-untyped-def]
    """The real outcomes app over httpx, authenticated with the all-scopes key."""
    from ledgerkit.testing import app_client
    from outcomes.app import create_app

    async with app_client(create_app(outcomes_settings), key=KEYS["admin"]) as client:
        yield client


@pytest.fixture
async def attribution_client(attribution_settings):  # type: ignore[no-untyped-def]
    """The real attribution app over httpx, authenticated with the all-scopes key."""
    from attribution.app import create_app
    from ledgerkit.testing import app_client

    async with app_client(create_app(attribution_settings), key=KEYS["admin"]) as client:
        yield client
