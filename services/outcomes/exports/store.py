"""SQL for exports: epics with their KPI links, baselines, targets and latest values."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Contribution, Kpi, Measurement


async def kpis_of(session: AsyncSession, epic_pks: Sequence[int]) -> Sequence[Row[int, Kpi]]:
    """(epic pk, KPI) for every contribution of these epics, by epic then KPI slug."""
    stmt = (
        select(Contribution.epic_pk, Kpi)
        .join(Kpi, Kpi.pk == Contribution.kpi_pk)
        .where(Contribution.epic_pk.in_(epic_pks))
        .order_by(Contribution.epic_pk, Kpi.slug)
    )
    return (await session.execute(stmt)).all()


async def latest_values(
    session: AsyncSession, kpi_pks: Sequence[int]
) -> dict[int, tuple[str, Decimal]]:
    """Per KPI, its latest period's current value (segment `all`): {kpi pk: (period, value)}."""
    if not kpi_pks:
        return {}
    current = and_(Measurement.superseded_at.is_(None), Measurement.segment == "all")
    latest = (
        select(Measurement.kpi_pk, func.max(Measurement.period).label("period"))
        .where(current, Measurement.kpi_pk.in_(kpi_pks))
        .group_by(Measurement.kpi_pk)
        .subquery()
    )
    stmt = (
        select(Measurement.kpi_pk, Measurement.period, Measurement.value)
        .join(
            latest,
            and_(Measurement.kpi_pk == latest.c.kpi_pk, Measurement.period == latest.c.period),
        )
        .where(current)
    )
    return {r.kpi_pk: (r.period, r.value) for r in (await session.execute(stmt)).all()}
