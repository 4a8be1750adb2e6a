"""SQL for measurements: set-based reads and writes (one statement per chunk, never per row)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Measurement

CHUNK = 2000  # bind parameters per IN list / insert statement stay far below driver limits


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def current_versions(
    session: AsyncSession, kpi_pk: int, periods: Iterable[str]
) -> dict[tuple[str, str], Measurement]:
    """The current version of every (period, segment) of the KPI in `periods`."""
    out: dict[tuple[str, str], Measurement] = {}
    for chunk in _chunks(sorted(set(periods))):
        rows = await session.scalars(
            select(Measurement).where(
                Measurement.kpi_pk == kpi_pk,
                Measurement.period.in_(chunk),
                Measurement.superseded_at.is_(None),
            )
        )
        for m in rows:
            out[(m.period, m.segment)] = m
    return out


async def supersede(session: AsyncSession, pks: Sequence[int], at: datetime) -> None:
    for chunk in _chunks(pks):
        await session.execute(
            update(Measurement)
            .where(Measurement.pk.in_(chunk))
            .values(superseded_at=at)
            .execution_options(synchronize_session=False)
        )


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (same keys each) with executemany / multi-row VALUES."""
    for chunk in _chunks(rows):
        await session.execute(insert(Measurement), list(chunk))


def _known_at(as_of: datetime | None) -> list[Any]:
    if as_of is None:
        return [Measurement.superseded_at.is_(None)]
    return [
        Measurement.recorded_at <= as_of,
        or_(Measurement.superseded_at.is_(None), Measurement.superseded_at > as_of),
    ]


async def list_known(
    session: AsyncSession,
    kpi_pk: int,
    *,
    period_from: str | None,
    period_to: str | None,
    segment: str | None,
    as_of: datetime | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Measurement]:
    """Values as known at `as_of` (now when None), ordered by period, segment."""
    conds: list[Any] = [Measurement.kpi_pk == kpi_pk, *_known_at(as_of)]
    if period_from is not None:
        conds.append(Measurement.period >= period_from)
    if period_to is not None:
        conds.append(Measurement.period <= period_to)
    if segment is not None:
        conds.append(Measurement.segment == segment)
    if after is not None:
        p, s = after
        conds.append(
            or_(Measurement.period > p, and_(Measurement.period == p, Measurement.segment > s))
        )
    stmt = (
        select(Measurement)
        .where(*conds)
        .order_by(Measurement.period, Measurement.segment)
        .limit(limit + 1)
    )
    return list((await session.scalars(stmt)).all())


async def list_versions(
    session: AsyncSession,
    kpi_pk: int,
    *,
    period: str,
    segment: str | None,
    after: tuple[str, int] | None,
    limit: int,
) -> list[Measurement]:
    """Every version of one period (optionally one segment), by segment then version."""
    conds: list[Any] = [Measurement.kpi_pk == kpi_pk, Measurement.period == period]
    if segment is not None:
        conds.append(Measurement.segment == segment)
    if after is not None:
        s, v = after
        conds.append(
            or_(Measurement.segment > s, and_(Measurement.segment == s, Measurement.version > v))
        )
    stmt = (
        select(Measurement)
        .where(*conds)
        .order_by(Measurement.segment, Measurement.version)
        .limit(limit + 1)
    )
    return list((await session.scalars(stmt)).all())
