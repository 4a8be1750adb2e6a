"""`GET /v1/sync` response."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SyncRead(BaseModel):
    after: int = Field(description="Highest change-feed seq applied to the replica.")
    head: int = Field(description="Highest seq seen at outcomes (at the last successful poll).")
    lag: int = Field(description="head - after: entries known to exist but not applied yet.")
    last_success_at: datetime | None = None
    last_error: str | None = Field(
        default=None, description="Why the last poll failed; null once a poll succeeds again."
    )
    last_error_at: datetime | None = None


class SyncRunRead(SyncRead):
    applied: int = Field(description="Entries applied by this catch-up.")
    pages: int
    seconds: float
