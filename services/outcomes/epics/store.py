"""SQL for epics."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Epic


async def get_by_ref(session: AsyncSession, ref: str, *, for_update: bool = False) -> Epic | None:
    """An epic by its id or its key (ids are 32 hex chars; keys may look alike, id wins)."""
    stmt = (
        select(Epic).where(or_(Epic.id == ref, Epic.key == ref)).order_by((Epic.id == ref).desc())
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt.limit(1))).first()
