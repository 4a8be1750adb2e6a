"""SQL for subscriptions and outbound deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Change, OutboundDelivery, Subscription

OPEN_STATUSES = ("pending", "sending", "retrying")


def _skip_locked(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def get(session: AsyncSession, sub_id: str) -> Subscription | None:
    return (await session.scalars(select(Subscription).where(Subscription.id == sub_id))).first()


async def list_page(
    session: AsyncSession, *, after_pk: int | None, limit: int, include_inactive: bool
) -> Sequence[Subscription]:
    stmt = select(Subscription)
    if not include_inactive:
        stmt = stmt.where(Subscription.active.is_(True))
    if after_pk is not None:
        stmt = stmt.where(Subscription.pk > after_pk)
    return (await session.scalars(stmt.order_by(Subscription.pk).limit(limit))).all()


async def pending_counts(session: AsyncSession, sub_pks: Sequence[int]) -> dict[int, int]:
    if not sub_pks:
        return {}
    rows = await session.execute(
        select(OutboundDelivery.subscription_pk, func.count())
        .where(
            OutboundDelivery.subscription_pk.in_(sub_pks),
            OutboundDelivery.status.in_(OPEN_STATUSES),
        )
        .group_by(OutboundDelivery.subscription_pk)
    )
    return {int(pk): int(n) for pk, n in rows.all()}


async def head_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(Change.seq), 0))) or 0)


async def deliveries_page(
    session: AsyncSession, sub_pk: int, *, status: str | None, after_pk: int | None, limit: int
) -> Sequence[OutboundDelivery]:
    stmt = select(OutboundDelivery).where(OutboundDelivery.subscription_pk == sub_pk)
    if status is not None:
        stmt = stmt.where(OutboundDelivery.status == status)
    if after_pk is not None:
        stmt = stmt.where(OutboundDelivery.pk > after_pk)
    return (await session.scalars(stmt.order_by(OutboundDelivery.pk).limit(limit))).all()


# --- dispatcher ------------------------------------------------------------------------


async def active_subscription_pks(session: AsyncSession) -> list[int]:
    rows = await session.scalars(
        select(Subscription.pk).where(Subscription.active.is_(True)).order_by(Subscription.pk)
    )
    return list(rows)


async def lock_subscription(session: AsyncSession, sub_pk: int) -> Subscription | None:
    """The active subscription's row, locked for this transaction. PostgreSQL: `FOR UPDATE
    SKIP LOCKED`, so a second dispatcher (another replica) skips a subscription the first is
    working on instead of waiting; SQLite: writers already hold the database lock."""
    stmt = select(Subscription).where(Subscription.pk == sub_pk, Subscription.active.is_(True))
    if _skip_locked(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def changes_after(session: AsyncSession, after: int, limit: int) -> Sequence[Change]:
    return (
        await session.scalars(
            select(Change).where(Change.seq > after).order_by(Change.seq).limit(limit)
        )
    ).all()


async def head_delivery(session: AsyncSession, sub_pk: int) -> OutboundDelivery | None:
    """The oldest delivery of the subscription not yet delivered or given up: the only one
    that may be sent (order)."""
    stmt = (
        select(OutboundDelivery)
        .where(
            OutboundDelivery.subscription_pk == sub_pk,
            OutboundDelivery.status.in_(OPEN_STATUSES),
        )
        .order_by(OutboundDelivery.change_seq)
        .limit(1)
    )
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def change(session: AsyncSession, seq: int) -> Change | None:
    return await session.get(Change, seq)


async def finish(
    session: AsyncSession,
    delivery_pk: int,
    *,
    claimed_attempt: int,
    status: str,
    next_attempt_at: datetime | None,
    status_code: int | None,
    error: str | None,
    delivered_at: datetime | None,
) -> bool:
    """Record an attempt's outcome, only if our claim still holds (nobody re-claimed the
    delivery after our lease ran out)."""
    result = await session.execute(
        update(OutboundDelivery)
        .where(
            OutboundDelivery.pk == delivery_pk,
            OutboundDelivery.status == "sending",
            OutboundDelivery.attempts == claimed_attempt,
        )
        .values(
            status=status,
            next_attempt_at=next_attempt_at,
            last_status_code=status_code,
            last_error=error,
            delivered_at=delivered_at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
