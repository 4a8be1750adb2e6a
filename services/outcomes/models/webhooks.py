"""Webhook inbox (Jira, Azure DevOps) and outbound event subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outcomes.models.base import Base, Created, IntPk, PublicId


class WebhookDelivery(Base):
    """Every inbound delivery, stored raw *before* it is processed, so nothing is lost.

    status: received → processed | ignored | failed | rejected | duplicate | stale.
    `dedupe_key` is the source's delivery identity (Jira webhook identifier, ADO work item +
    rev); `item_key` the source item it concerns and `item_order` its ordering value.
    """

    __tablename__ = "webhook_deliveries"

    pk: Mapped[IntPk]
    id: Mapped[PublicId]
    source: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str | None] = mapped_column(String(100))
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    item_key: Mapped[str | None] = mapped_column(String(200))
    item_order: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="received")
    reason: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    epic_id: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[Created]
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_webhook_deliveries_status", "status", "pk"),
        Index("ix_webhook_deliveries_dedupe", "source", "dedupe_key"),
    )


class Subscription(Base):
    """An outbound event subscription: events from the change log, signed, retried."""

    __tablename__ = "subscriptions"

    pk: Mapped[IntPk]
    id: Mapped[PublicId]
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]]
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Change-log position this subscription has been fanned out up to.
    after_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[Created]


class OutboundDelivery(Base):
    __tablename__ = "outbound_deliveries"

    pk: Mapped[IntPk]
    id: Mapped[PublicId]
    subscription_pk: Mapped[int] = mapped_column(ForeignKey("subscriptions.pk", ondelete="CASCADE"))
    change_seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[Created]

    __table_args__ = (
        UniqueConstraint("subscription_pk", "change_seq"),
        Index("ix_outbound_deliveries_due", "status", "next_attempt_at"),
    )
