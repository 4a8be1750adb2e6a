"""UTC time helpers: one way to make, store and print timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso_utc(dt: datetime) -> str:
    """`2026-04-01T10:15:30.123456Z` — fixed microsecond precision, so hashes are stable."""
    return as_utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso_only(value: object) -> object:
    """Refuse numbers: pydantic would read `as_of=2026` (or `8.3e-232`) as seconds after
    1970. No ISO 8601 text reads as a number."""
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise ValueError("expected an ISO 8601 timestamp such as 2026-05-01T00:00:00Z")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]
"""A timestamp that must be written in ISO 8601 (no Unix-epoch numbers)."""
