"""SQL for the change log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Text, cast, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from outcomes.models import Change

# Any constant works; it only has to be the same for every writer of the chain.
CHAIN_LOCK_ID = 0x6C656467  # "ledg"
_TABLE = Change.metadata.tables[Change.__tablename__]


def lock_chain_sync(session: Session) -> None:
    """Serialize appends. PostgreSQL: a transaction-scoped advisory lock. SQLite: writers
    already hold the database write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})


def head_sync(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(Change.seq, Change.hash).order_by(Change.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row else None


def insert_sync(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append entries (Core executemany: no ORM objects, one round trip per 1,000 rows)."""
    session.execute(insert(_TABLE), rows)


async def list_after(session: AsyncSession, after: int, limit: int) -> Sequence[Change]:
    rows = await session.scalars(
        select(Change).where(Change.seq > after).order_by(Change.seq).limit(limit)
    )
    return rows.all()


async def page_after(session: AsyncSession, after: int, limit: int) -> list[Any]:
    """Up to `limit` entries after `after` as rows of (seq, at, actor, entity, entity_id,
    action, data, hash, prev_hash), with `data` as its stored JSON text (not parsed)."""
    c = Change.__table__.c
    stmt = (
        select(
            c.seq,
            c.at,
            c.actor,
            c.entity,
            c.entity_id,
            c.action,
            cast(c.data, Text),
            c.hash,
            c.prev_hash,
        )
        .where(c.seq > after)
        .order_by(c.seq)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


async def head_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(Change.seq), 0))) or 0)


async def walk(session: AsyncSession, batch: int = 5000) -> AsyncIterator[Change]:
    after = 0
    while True:
        rows = await list_after(session, after, batch)
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].seq
        session.expunge_all()
