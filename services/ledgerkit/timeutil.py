"""UTC time helpers: one way to make, store and print timestamps."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso_utc(dt: datetime) -> str:
    """`2026-04-01T10:15:30.123456Z` — fixed microsecond precision, so hashes are stable."""
    return as_utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
