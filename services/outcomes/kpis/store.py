"""SQL for KPIs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Kpi


async def get_by_slug(session: AsyncSession, slug: str, *, for_update: bool = False) -> Kpi | None:
    stmt = select(Kpi).where(Kpi.slug == slug)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()
