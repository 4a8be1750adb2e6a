"""SQL for value-council scores."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Epic, Score


async def get(session: AsyncSession, score_id: str) -> Row[Score, str, str] | None:
    stmt = (
        select(Score, Epic.id, Epic.key)
        .join(Epic, Epic.pk == Score.epic_pk)
        .where(Score.id == score_id)
    )
    return (await session.execute(stmt)).first()


async def list_page(
    session: AsyncSession,
    *,
    period: str | None,
    epic_pk: int | None,
    after_pk: int | None,
    limit: int,
) -> Sequence[Row[Score, str, str]]:
    """Scores with their epic's id and key, in creation order."""
    stmt = select(Score, Epic.id, Epic.key).join(Epic, Epic.pk == Score.epic_pk)
    if period is not None:
        stmt = stmt.where(Score.period == period)
    if epic_pk is not None:
        stmt = stmt.where(Score.epic_pk == epic_pk)
    if after_pk is not None:
        stmt = stmt.where(Score.pk > after_pk)
    return (await session.execute(stmt.order_by(Score.pk).limit(limit))).all()
