"""SQL for contributions."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Contribution, Epic, Kpi


class Holder(NamedTuple):
    epic_key: str
    epic_id: str
    claimed_share: Decimal
    archived: bool


async def get(session: AsyncSession, epic_pk: int, kpi_pk: int) -> Contribution | None:
    stmt = select(Contribution).where(
        Contribution.epic_pk == epic_pk, Contribution.kpi_pk == kpi_pk
    )
    return (await session.scalars(stmt)).first()


async def list_for_epic(
    session: AsyncSession, epic_pk: int, *, after_pk: int | None, limit: int
) -> list[tuple[Contribution, str]]:
    """(contribution, KPI slug) in creation order; `limit + 1` rows tell if there is more."""
    stmt = (
        select(Contribution, Kpi.slug)
        .join(Kpi, Kpi.pk == Contribution.kpi_pk)
        .where(Contribution.epic_pk == epic_pk)
        .order_by(Contribution.pk)
        .limit(limit + 1)
    )
    if after_pk is not None:
        stmt = stmt.where(Contribution.pk > after_pk)
    return [(c, slug) for c, slug in (await session.execute(stmt)).all()]


async def share_holders(
    session: AsyncSession, kpi_pk: int, *, exclude_epic_pk: int | None
) -> list[Holder]:
    """Every epic claiming a share of the KPI (archived epics too), in link order."""
    stmt = (
        select(Epic.key, Epic.id, Contribution.claimed_share, Epic.archived_at)
        .join(Epic, Epic.pk == Contribution.epic_pk)
        .where(Contribution.kpi_pk == kpi_pk, Contribution.claimed_share.is_not(None))
        .order_by(Contribution.pk)
    )
    if exclude_epic_pk is not None:
        stmt = stmt.where(Contribution.epic_pk != exclude_epic_pk)
    rows = await session.execute(stmt)
    return [Holder(k, i, share or Decimal(0), at is not None) for k, i, share, at in rows]
