"""SQL for the decision log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Decision, Epic


async def get(session: AsyncSession, decision_id: str) -> Row[Decision, str, str] | None:
    stmt = (
        select(Decision, Epic.id, Epic.key)
        .join(Epic, Epic.pk == Decision.epic_pk)
        .where(Decision.id == decision_id)
    )
    return (await session.execute(stmt)).first()


async def list_page(
    session: AsyncSession, *, epic_pk: int | None, after_pk: int | None, limit: int
) -> Sequence[Row[Decision, str, str]]:
    """Decisions with their epic's id and key, in the order they were recorded."""
    stmt = select(Decision, Epic.id, Epic.key).join(Epic, Epic.pk == Decision.epic_pk)
    if epic_pk is not None:
        stmt = stmt.where(Decision.epic_pk == epic_pk)
    if after_pk is not None:
        stmt = stmt.where(Decision.pk > after_pk)
    return (await session.execute(stmt.order_by(Decision.pk).limit(limit))).all()
