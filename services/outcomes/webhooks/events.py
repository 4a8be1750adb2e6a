"""The product-neutral event a Jira or ADO delivery is parsed into (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from ledgerkit.timeutil import iso_utc

Action = Literal["upsert", "delete", "restore", "ignore"]


@dataclass(frozen=True)
class ItemState:
    """The issue / work item as the source reports it in this delivery."""

    item_type: str | None
    title: str | None
    status_name: str | None
    status_category: str | None
    labels: tuple[str, ...]
    owner: str | None
    team: str | None
    start_date: date | None
    target_date: date | None


@dataclass(frozen=True)
class SourceEvent:
    source: Literal["jira", "ado"]
    event_type: str
    action: Action
    item_id: str | None
    key: str | None
    dedupe_key: str
    # Ordering: Jira compares `order_at` (fields.updated, else the event timestamp); ADO
    # compares (`order_rev`, `order_at`), order_at being the notification's createdDate,
    # because a delete and a restore share the rev.
    order_at: datetime
    order_rev: int | None
    state: ItemState | None  # None: a thin delete (only id and key)
    note: str | None = None  # why an event is ignored

    @property
    def item_order(self) -> str:
        """Sortable text form of the ordering value (stored on the inbox row)."""
        at = iso_utc(self.order_at)
        return at if self.order_rev is None else f"{self.order_rev:010d}@{at}"
