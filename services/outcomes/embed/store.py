"""SQL for the scorecard (read-only; reads the outcomes tables directly)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Contribution, Decision, Epic, EpicStream, Kpi, Measurement, Score

MAX_EPICS = 500
MAX_KPIS = 60
MAX_DECISIONS = 10


async def get_epic(session: AsyncSession, ref: str) -> Epic | None:
    stmt = select(Epic).where(or_(Epic.id == ref, Epic.key == ref))
    return (await session.scalars(stmt.order_by((Epic.id == ref).desc()).limit(1))).first()


async def epics_in_scope(
    session: AsyncSession, *, stream: str | None, team: str | None, epic_pk: int | None
) -> Sequence[Epic]:
    stmt = select(Epic)
    if epic_pk is not None:
        stmt = stmt.where(Epic.pk == epic_pk)
    else:
        stmt = stmt.where(Epic.status != "archived")
    if stream is not None:
        stmt = stmt.where(
            Epic.pk.in_(select(EpicStream.epic_pk).where(EpicStream.stream == stream))
        )
    if team is not None:
        stmt = stmt.where(func.lower(Epic.team) == team.lower())
    return (await session.scalars(stmt.order_by(Epic.pk).limit(MAX_EPICS))).all()


async def kpis_in_scope(
    session: AsyncSession, *, stream: str | None, epic_pks: Sequence[int] | None
) -> Sequence[Kpi]:
    """KPIs of the stream; when the view is narrowed to some epics, only the KPIs they move."""
    stmt = select(Kpi)
    if stream is not None:
        stmt = stmt.where(Kpi.stream == stream)
    if epic_pks is not None:
        stmt = stmt.where(
            Kpi.pk.in_(select(Contribution.kpi_pk).where(Contribution.epic_pk.in_(epic_pks)))
        )
    return (await session.scalars(stmt.order_by(Kpi.pk).limit(MAX_KPIS))).all()


@dataclass(frozen=True)
class Point:
    kpi_pk: int
    period: str
    value: Decimal


async def current_values(session: AsyncSession, kpi_pks: Sequence[int]) -> list[Point]:
    """The current (latest-version) value per period, segment `all`, oldest period first."""
    if not kpi_pks:
        return []
    rows = await session.execute(
        select(Measurement.kpi_pk, Measurement.period, Measurement.value)
        .where(
            Measurement.kpi_pk.in_(kpi_pks),
            Measurement.segment == "all",
            Measurement.superseded_at.is_(None),
        )
        .order_by(Measurement.kpi_pk, Measurement.period)
    )
    return [Point(r.kpi_pk, r.period, r.value) for r in rows]


async def latest_scores(session: AsyncSession, epic_pks: Sequence[int]) -> list[Score]:
    """Each epic's most recent council score (latest period, then latest written)."""
    if not epic_pks:
        return []
    rows = await session.scalars(
        select(Score)
        .where(Score.epic_pk.in_(epic_pks))
        .order_by(Score.epic_pk, Score.period.desc(), Score.pk.desc())
    )
    seen: set[int] = set()
    out: list[Score] = []
    for s in rows:
        if s.epic_pk not in seen:
            seen.add(s.epic_pk)
            out.append(s)
    return out


async def latest_decisions(session: AsyncSession, epic_pks: Sequence[int]) -> list[Decision]:
    if not epic_pks:
        return []
    rows = await session.scalars(
        select(Decision)
        .where(Decision.epic_pk.in_(epic_pks))
        .order_by(Decision.decided_on.desc(), Decision.pk.desc())
        .limit(MAX_DECISIONS)
    )
    return list(rows)
