"""Webhook responses: the acknowledgement sources get, and the inbox as admins see it."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ledgerkit.pagination import Page

DeliveryStatus = Literal[
    "received", "processed", "ignored", "failed", "rejected", "duplicate", "stale"
]
STATUSES: tuple[str, ...] = typing.get_args(DeliveryStatus)
SourceName = Literal["jira", "ado"]


class DeliveryAccepted(BaseModel):
    """202: the delivery is stored; `status` says what processing made of it."""

    delivery_id: str
    status: DeliveryStatus = Field(
        description="processed (applied), ignored (not an epic / not an epic event), "
        "duplicate (seen before, not applied again), stale (older than what was applied), "
        "failed (kept for replay; see `reason`)."
    )
    reason: str | None = None


class DeliveryRead(BaseModel):
    id: str
    source: SourceName
    event_type: str | None
    status: DeliveryStatus
    reason: str | None
    dedupe_key: str | None = Field(
        description="Jira: site + X-Atlassian-Webhook-Identifier; ADO: work item:rev."
    )
    item_key: str | None = Field(description="Jira issue id / ADO work item id.")
    item_order: str | None = Field(description="Ordering value (Jira updated; ADO rev@time).")
    epic_id: str | None
    attempts: int = Field(description="Processing attempts (first one and replays).")
    headers: dict[str, str] = Field(description="Headers as received; credentials redacted.")
    body_size: int
    received_at: datetime
    processed_at: datetime | None


class DeliveryDetail(DeliveryRead):
    body: str = Field(description="The raw body (UTF-8; undecodable bytes replaced).")


DeliveryPage = Page[DeliveryRead]
