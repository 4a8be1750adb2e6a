"""Engine settings that only show in speed must not change behaviour: JSON columns round-trip
through orjson like the stdlib did, and the one-round-trip pre-ping still replaces a
connection the server has killed."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from ledgerkit.db import Database, json_dumps, json_loads


def test_json_column_codec_round_trips_like_the_stdlib() -> None:
    for value in (
        {"a": [1, 2.5, None, True, "\u00e9\u4e2d\U0001f4b0", 'q"\\\n\x01']},
        {1: "int key", "big": 2**70},  # orjson refuses both as such: stdlib fallback
        [],
        "\ud800",  # a lone surrogate: orjson refuses it, the stdlib escapes it
    ):
        assert json_loads(json_dumps(value)) == json_loads(__import__("json").dumps(value))
    assert json_loads("NaN") != json_loads("NaN")  # stdlib fallback for what orjson refuses


async def test_pre_ping_replaces_a_killed_connection(
    database_urls: dict[str, str], on_postgres: bool
) -> None:
    if not on_postgres:
        pytest.skip("PostgreSQL only (SQLite has no server to kill connections)")
    db = Database(database_urls["outcomes"], pool_size=1, max_overflow=0)
    try:
        async with db.session() as s:
            pid = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert (await s.execute(text("SELECT '{\"a\": [1]}'::json"))).scalar_one() == {"a": [1]}
        url = database_urls["outcomes"].replace("postgresql+asyncpg://", "postgresql://")
        admin = await asyncpg.connect(url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        async with db.session() as s:  # the pool's only connection is dead: pinged, replaced
            assert (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await db.dispose()
