"""All SQL of rule sets and their versions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attribution.models import RuleSet, RuleSetVersion


async def get_ruleset(session: AsyncSession, ruleset_id: str) -> RuleSet | None:
    return await session.get(RuleSet, ruleset_id)


async def get_ruleset_by_name(session: AsyncSession, name: str) -> RuleSet | None:
    return (await session.execute(select(RuleSet).where(RuleSet.name == name))).scalar_one_or_none()


async def list_rulesets(
    session: AsyncSession, limit: int, after: tuple[datetime, str] | None
) -> Sequence[RuleSet]:
    query = select(RuleSet).order_by(RuleSet.created_at, RuleSet.id).limit(limit)
    if after is not None:
        created, rid = after
        query = query.where(
            (RuleSet.created_at > created) | ((RuleSet.created_at == created) & (RuleSet.id > rid))
        )
    return (await session.execute(query)).scalars().all()


async def versions_of(session: AsyncSession, ruleset_ids: Sequence[str]) -> list[RuleSetVersion]:
    if not ruleset_ids:
        return []
    query = (
        select(RuleSetVersion)
        .where(RuleSetVersion.ruleset_id.in_(list(ruleset_ids)))
        .order_by(RuleSetVersion.ruleset_id, RuleSetVersion.number)
    )
    return list((await session.execute(query)).scalars().all())


async def get_version(
    session: AsyncSession, ruleset_id: str, number: int, *, lock: bool = False
) -> RuleSetVersion | None:
    query = select(RuleSetVersion).where(
        RuleSetVersion.ruleset_id == ruleset_id, RuleSetVersion.number == number
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def next_number(session: AsyncSession, ruleset_id: str) -> int:
    query = select(func.max(RuleSetVersion.number)).where(RuleSetVersion.ruleset_id == ruleset_id)
    return int((await session.execute(query)).scalar_one() or 0) + 1


async def lock_ruleset(session: AsyncSession, ruleset_id: str) -> RuleSet | None:
    query = select(RuleSet).where(RuleSet.id == ruleset_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()
