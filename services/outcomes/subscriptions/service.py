"""Subscriptions: create, read, deactivate; delivery listings."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.timeutil import as_utc
from outcomes.models import OutboundDelivery, Subscription
from outcomes.subscriptions import store
from outcomes.subscriptions.errors import SubscriptionNotFound
from outcomes.subscriptions.schemas import (
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
)


def subscription_read(sub: Subscription, pending: int) -> SubscriptionRead:
    return SubscriptionRead(
        id=sub.id,
        url=sub.url,
        event_types=list(sub.event_types),
        active=sub.active,
        after_seq=sub.after_seq,
        created_at=as_utc(sub.created_at),
        pending=pending,
    )


def delivery_read(d: OutboundDelivery, sub_id: str) -> DeliveryRead:
    return DeliveryRead(
        id=d.id,
        subscription_id=sub_id,
        seq=d.change_seq,
        event_type=d.event_type,
        status=d.status,  # type: ignore[arg-type]
        attempts=d.attempts,
        next_attempt_at=as_utc(d.next_attempt_at) if d.next_attempt_at else None,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=as_utc(d.delivered_at) if d.delivered_at else None,
        created_at=as_utc(d.created_at),
    )


async def create_subscription(
    session: AsyncSession, body: SubscriptionCreate
) -> SubscriptionCreated:
    """A new subscription starts at the change log's head (only new events) unless `after`
    asks for a replay from an earlier position."""
    generated = None if body.secret else secrets.token_urlsafe(32)
    after = body.after if body.after is not None else await store.head_seq(session)
    sub = Subscription(
        url=body.url,
        event_types=body.event_types,
        secret=body.secret or generated,
        active=True,
        after_seq=after,
    )
    session.add(sub)
    await session.flush()
    read = subscription_read(sub, 0)
    return SubscriptionCreated(**read.model_dump(), secret=generated)


async def get_subscription(session: AsyncSession, sub_id: str) -> Subscription:
    sub = await store.get(session, sub_id)
    if sub is None:
        raise SubscriptionNotFound(f"No subscription {sub_id!r}.")
    return sub


async def read_subscription(session: AsyncSession, sub_id: str) -> SubscriptionRead:
    sub = await get_subscription(session, sub_id)
    counts = await store.pending_counts(session, [sub.pk])
    return subscription_read(sub, counts.get(sub.pk, 0))


async def list_subscriptions(
    session: AsyncSession, *, after_pk: int | None, limit: int, include_inactive: bool
) -> tuple[list[SubscriptionRead], int | None]:
    rows = await store.list_page(
        session, after_pk=after_pk, limit=limit + 1, include_inactive=include_inactive
    )
    more = len(rows) > limit
    rows = rows[:limit]
    counts = await store.pending_counts(session, [r.pk for r in rows])
    items = [subscription_read(r, counts.get(r.pk, 0)) for r in rows]
    return items, rows[-1].pk if more and rows else None


async def deactivate_subscription(session: AsyncSession, sub_id: str) -> None:
    """Deactivate (kept, with its delivery history, for the audit); nothing more is sent."""
    sub = await get_subscription(session, sub_id)
    sub.active = False
    await session.flush()


async def list_deliveries(
    session: AsyncSession, sub_id: str, *, status: str | None, after_pk: int | None, limit: int
) -> tuple[Sequence[DeliveryRead], int | None]:
    sub = await get_subscription(session, sub_id)
    rows = await store.deliveries_page(
        session, sub.pk, status=status, after_pk=after_pk, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return [delivery_read(d, sub.id) for d in rows], rows[-1].pk if more and rows else None
