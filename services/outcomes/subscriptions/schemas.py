"""Subscription and delivery requests/responses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outcomes.subscriptions.events import EVENT_TYPES, WILDCARD

DeliveryStatus = Literal["pending", "sending", "retrying", "delivered", "failed"]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        description="Where events are POSTed (http or https).",
        examples=["https://portal.example/hooks/ledger"],
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=len(EVENT_TYPES) + 1,
        description=f"Any of {', '.join(EVENT_TYPES)}; or `*` for all.",
        examples=[["epic.created", "measurement.recorded"]],
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC key for X-Ledger-Signature; omitted: one is generated and returned "
        "once in this response.",
    )
    after: int | None = Field(
        default=None,
        ge=0,
        strict=True,  # `false` / `"3"` are not positions
        description="Deliver change-log entries with seq > after (a replay); default: the "
        "current head, i.e. only what happens from now on.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http:// or https:// URL")
        if parts.username or parts.password:
            raise ValueError("url must not carry credentials; use the secret")
        return value.strip()

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t != WILDCARD and t not in EVENT_TYPES]
        if unknown:
            raise ValueError(
                f"unknown event type(s) {unknown}; allowed: {', '.join(EVENT_TYPES)} or *"
            )
        return list(dict.fromkeys(value))


class SubscriptionRead(BaseModel):
    id: str
    url: str
    event_types: list[str]
    active: bool
    after_seq: int = Field(description="Change-log position fanned out up to.")
    created_at: datetime
    pending: int = Field(description="Deliveries not yet delivered or given up.")


class SubscriptionCreated(SubscriptionRead):
    secret: str | None = Field(
        default=None, description="The generated secret (only when none was sent; shown once)."
    )


class SubscriptionPage(BaseModel):
    items: list[SubscriptionRead]
    next_cursor: str | None = None


class DeliveryRead(BaseModel):
    id: str
    subscription_id: str
    seq: int = Field(description="The change-log entry this event comes from.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None = None
