"""The append-only, hash-chained change log, and stored Idempotency-Key responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from outcomes.models.base import Base, Created


class Change(Base):
    """One entry of the change log. `seq` is assigned by the writer holding the chain lock,
    so it has no gaps and commits in order; `hash` = sha256(prev_hash + canonical entry)."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class IdempotencyRecord(Base):
    """The first response to a POST with an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_headers: Mapped[dict[str, Any]]
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[Created]
