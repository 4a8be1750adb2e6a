"""Each service's migration history: empty → head → base → head, and no model drift."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from ledgerkit import migrate
from ledgerkit.db import create_engine


def _specs():  # type: ignore[no-untyped-def]
    from ledger_cli.services import select

    return select(None)


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", ["outcomes", "attribution"])
async def test_upgrade_downgrade_upgrade(database_urls: dict[str, str], service: str) -> None:
    spec = next(s for s in _specs() if s.name == service)
    url = database_urls[service]
    cfg = spec.migrations()
    head = migrate.head_revision(cfg)
    assert await migrate.current_revision(url, cfg) == head
    own = set(spec.metadata.tables)
    assert own <= await _tables(url)
    await migrate.downgrade(url, cfg, "base")
    assert await migrate.current_revision(url, cfg) is None
    assert not (own & await _tables(url))
    await migrate.upgrade(url, cfg, "head")
    assert await migrate.current_revision(url, cfg) == head
    assert own <= await _tables(url)


@pytest.mark.parametrize("service", ["outcomes", "attribution"])
async def test_models_match_migrations(database_urls: dict[str, str], service: str) -> None:
    spec = next(s for s in _specs() if s.name == service)
    diffs = await migrate.drift(database_urls[service], spec.migrations(), spec.metadata)
    assert diffs == [], f"models and migrations drift; run `ledger revision`: {diffs}"
