"""Database engine, sessions and the per-request unit of work.

One `Database` per service process. SQLite (aiosqlite) is the embedded default; PostgreSQL
(asyncpg) is the production database. Both are reached through SQLAlchemy's asyncio API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util.concurrency import await_

# Constraint names are stable across SQLite and PostgreSQL so migrations can drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def normalize_url(url: str) -> str:
    """Accept the URLs people write (`postgresql://`, `sqlite:///x.db`) and pick async drivers."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+asyncpg")
    elif u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    return u.render_as_string(hide_password=False)


def is_sqlite(url: str | URL) -> bool:
    return make_url(str(url) if isinstance(url, URL) else url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


def json_dumps(value: Any) -> str:
    """JSON columns are written with orjson (~5x faster than `json.dumps`, compact, UTF-8).
    Anything orjson refuses (a lone surrogate, an integer beyond 64 bits) is written by the
    stdlib as before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def json_loads(text: str | bytes) -> Any:
    """JSON columns are read with orjson; text it refuses (`NaN`, an escaped lone
    surrogate) is read by the stdlib as before."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5.0,
    connect_timeout: float = 3.0,
    echo: bool = False,
) -> AsyncEngine:
    url = normalize_url(url)
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
            pool_pre_ping=False,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,  # a connection killed by a DB restart is replaced, not reused
        connect_args={"timeout": connect_timeout, "command_timeout": 60},
        json_serializer=json_dumps,
        json_deserializer=json_loads,
    )
    _configure_asyncpg(engine)
    return engine


def _configure_asyncpg(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # `json` values straight from the wire into orjson (bytes in, no decode step, no
        # Python frame per value); PostgreSQL only ever holds valid JSON in a json column.
        # Runs after the dialect's own codec setup, so this one wins.
        async def codec(conn: Any) -> None:
            await conn.set_type_codec(
                "json",
                encoder=str.encode,
                decoder=orjson.loads,
                schema="pg_catalog",
                format="binary",
            )

        dbapi_conn.run_async(codec)

    # Pre-ping in one round trip instead of three (the dialect's ping opens a transaction,
    # runs a prepared `;` and rolls back): `SELECT 1` as a simple-protocol query outside any
    # transaction, which no pooler (pgbouncer transaction mode) minds either. A dead
    # connection raises here exactly as before and is replaced by the pool.
    engine.sync_engine.dialect.do_ping = _ping  # type: ignore[method-assign]


def _ping(dbapi_connection: Any) -> bool:
    try:
        await_(dbapi_connection._connection.execute("SELECT 1"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so we can say BEGIN IMMEDIATE for writes.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes can fail with "database is locked" instead of waiting its turn.
        mode = "IMMEDIATE" if conn.get_execution_options().get("ledger_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """Engine plus session factories for reads and writes."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = create_engine(self.url, **engine_kwargs)
        self.is_sqlite = is_sqlite(self.url)
        # PostgreSQL reads run without BEGIN/COMMIT (two round trips fewer per request).
        # Under READ COMMITTED each statement sees the latest committed data either way,
        # so a read session sees exactly what it would inside a transaction. SQLite keeps
        # its explicit BEGIN DEFERRED (switching pysqlite's mode costs statements).
        reads = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._read = async_sessionmaker(reads, expire_on_commit=False)
        self._write = async_sessionmaker(
            self.engine.execution_options(ledger_write=True), expire_on_commit=False
        )

    def sessionmaker(self, *, write: bool = False) -> async_sessionmaker[AsyncSession]:
        return self._write if write else self._read

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls back when it raises."""
        async with self.sessionmaker(write=write)() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self, timeout: float = 2.0) -> None:
        async def _ping() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        await asyncio.wait_for(_ping(), timeout)

    async def dispose(self) -> None:
        await self.engine.dispose()
