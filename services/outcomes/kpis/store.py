"""SQL for KPIs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Kpi, Measurement


async def get_by_slug(session: AsyncSession, slug: str, *, for_update: bool = False) -> Kpi | None:
    stmt = select(Kpi).where(Kpi.slug == slug)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def get_by_slugs(session: AsyncSession, slugs: Sequence[str]) -> list[Kpi]:
    if not slugs:
        return []
    return list((await session.scalars(select(Kpi).where(Kpi.slug.in_(set(slugs))))).all())


async def slug_exists(session: AsyncSession, slug: str) -> bool:
    return bool(await session.scalar(select(exists().where(Kpi.slug == slug))))


async def has_measurements(session: AsyncSession, kpi_pk: int) -> bool:
    return bool(await session.scalar(select(exists().where(Measurement.kpi_pk == kpi_pk))))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_kpis(
    session: AsyncSession,
    *,
    after_pk: int | None,
    limit: int,
    stream: str | None = None,
    scorecard_line: str | None = None,
    q: str | None = None,
) -> list[Kpi]:
    """KPIs in creation order after `after_pk`; `limit + 1` rows tell if there is more."""
    stmt = select(Kpi).order_by(Kpi.pk).limit(limit + 1)
    conds: list[Any] = []
    if after_pk is not None:
        conds.append(Kpi.pk > after_pk)
    if stream is not None:
        conds.append(Kpi.stream == stream)
    if scorecard_line is not None:
        conds.append(Kpi.scorecard_line == scorecard_line)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        conds.append(
            or_(
                func.lower(Kpi.name).like(pattern, escape="\\"),
                func.lower(Kpi.slug).like(pattern, escape="\\"),
            )
        )
    if conds:
        stmt = stmt.where(*conds)
    return list((await session.scalars(stmt)).all())
