"""Change feed and audit responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ChangeRead(BaseModel):
    seq: int
    at: datetime
    actor: str
    entity: str = Field(examples=["epic"])
    entity_id: str
    action: str = Field(examples=["created"])
    data: dict[str, Any]
    hash: str
    prev_hash: str


class ChangePage(BaseModel):
    items: list[ChangeRead]
    next_after: int = Field(description="Pass as `after` to continue; unchanged when empty.")
    head: int = Field(description="Highest seq in the log now (for lag).")


class AuditVerifyRead(BaseModel):
    ok: bool
    length: int
    head: str | None
    first_broken_seq: int | None = None
    reason: str | None = None
