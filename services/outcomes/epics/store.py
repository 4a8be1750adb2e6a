"""SQL for epics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.epics.schemas import EpicFilters
from outcomes.models import Change, Contribution, Epic, EpicStream, Kpi


async def get_by_ref(session: AsyncSession, ref: str, *, for_update: bool = False) -> Epic | None:
    """An epic by its id or its key (ids are 32 hex chars; keys may look alike, id wins)."""
    stmt = (
        select(Epic).where(or_(Epic.id == ref, Epic.key == ref)).order_by((Epic.id == ref).desc())
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt.limit(1))).first()


async def lock(session: AsyncSession, epic: Epic) -> Epic:
    """Re-read the epic's row under a row lock (PostgreSQL `FOR UPDATE`; SQLite writers
    already hold the database write lock), refreshing the loaded object, so a version check
    made afterwards cannot race another writer."""
    stmt = (
        select(Epic)
        .where(Epic.pk == epic.pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


_INSERT_STREAMS = insert(EpicStream.metadata.tables[EpicStream.__tablename__])
# Built once: on every create (REST, GraphQL, webhooks) building them cost as much as running
# them (the expanding IN is rendered per number of keys at execution, from the cache).
_KEYS_TAKEN = select(Epic.key).where(Epic.key.in_(bindparam("keys", expanding=True)))
_KEY_TAKEN_BY_OTHER = (
    select(Epic.pk).where(Epic.key == bindparam("key"), Epic.pk != bindparam("pk")).limit(1)
)


async def keys_taken(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of `keys` existing epics already use (one statement for any number)."""
    if not keys:
        return set()
    return set((await session.scalars(_KEYS_TAKEN, {"keys": sorted(set(keys))})).all())


async def key_exists(session: AsyncSession, key: str, *, other_than: int) -> bool:
    """Whether an epic other than `other_than` uses `key` (a re-key)."""
    params = {"key": key, "pk": other_than}
    return (await session.scalar(_KEY_TAKEN_BY_OTHER, params)) is not None


async def set_streams(session: AsyncSession, epic_pk: int, streams: Sequence[str]) -> None:
    """Mirror the epic's `streams` list into `epic_streams` (the indexed filter table)."""
    await session.execute(delete(EpicStream).where(EpicStream.epic_pk == epic_pk))
    await add_streams(session, [(epic_pk, streams)])


async def add_streams(session: AsyncSession, epics: Sequence[tuple[int, Sequence[str]]]) -> None:
    """The `epic_streams` rows of epics that have none yet (just inserted), as (pk, streams),
    in one statement for all of them."""
    rows = [{"epic_pk": pk, "stream": s} for pk, streams in epics for s in streams]
    if rows:  # Core, not ORM objects: nothing reads them back; no unit-of-work flush
        await session.execute(_INSERT_STREAMS, rows)


def filtered(stmt: Select[Any], f: EpicFilters) -> Select[Any]:
    """`stmt` (a select over `epics`) narrowed by the list filters."""
    if f.status is not None:
        stmt = stmt.where(Epic.status == f.status)
    elif not f.include_archived:
        stmt = stmt.where(Epic.status != "archived")
    if f.stream is not None:
        stmt = stmt.where(
            Epic.pk.in_(select(EpicStream.epic_pk).where(EpicStream.stream == f.stream))
        )
    if f.kpi is not None:
        stmt = stmt.where(
            Epic.pk.in_(
                select(Contribution.epic_pk)
                .join(Kpi, Kpi.pk == Contribution.kpi_pk)
                .where(Kpi.slug == f.kpi)
            )
        )
    if f.source is not None:
        stmt = stmt.where(Epic.source == f.source)
    if f.team is not None:
        stmt = stmt.where(func.lower(Epic.team) == f.team.lower())
    if f.q:
        pattern = "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "%"
        stmt = stmt.where(
            or_(
                func.lower(Epic.title).like(pattern, escape="\\"),
                func.lower(Epic.key).like(pattern, escape="\\"),
            )
        )
    return stmt


async def list_page(
    session: AsyncSession, f: EpicFilters, *, after_pk: int | None, limit: int
) -> Sequence[Epic]:
    """Up to `limit` epics after `after_pk`, in creation (pk) order."""
    stmt = filtered(select(Epic), f)
    if after_pk is not None:
        stmt = stmt.where(Epic.pk > after_pk)
    return (await session.scalars(stmt.order_by(Epic.pk).limit(limit))).all()


async def last_status_before_archive(session: AsyncSession, epic_id: str) -> str | None:
    """The status the epic had before it was archived, from the change log."""
    rows = await session.scalars(
        select(Change.data)
        .where(Change.entity == "epic", Change.entity_id == epic_id)
        .order_by(Change.seq.desc())
        .limit(50)
    )
    for data in rows:
        status = data.get("status") if isinstance(data, dict) else None
        if isinstance(status, str) and status != "archived":
            return status
    return None
