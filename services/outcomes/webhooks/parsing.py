"""Shared helpers for reading untrusted JSON from the products."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson

from outcomes.webhooks.errors import InvalidDelivery, MalformedDelivery


def load_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedDelivery(f"The body is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise MalformedDelivery(f"The body is JSON but not an object (a {type(data).__name__}).")
    return data


def invalid(loc: list[str | int], msg: str) -> InvalidDelivery:
    where = ".".join(str(p) for p in loc)
    return InvalidDelivery(f"{where}: {msg}", errors=[{"loc": ["body", *loc], "msg": msg}])


def opt_str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def item_id(value: Any, loc: list[str | int]) -> str:
    """Jira sends ids as numeric strings, ADO as integers."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(loc, "required (an id)")
    text = str(value).strip()
    if not text or len(text) > 100:
        raise invalid(loc, "must be a non-empty id of at most 100 characters")
    return text


def parse_datetime(value: Any) -> datetime | None:
    """`2026-04-01T10:15:30.000+0000` (Jira, any ±hhmm), `2026-04-09T15:47:12.0442187Z` (ADO,
    up to 7 fraction digits). None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if "." in text:  # Python reads at most 6 fraction digits
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)] + rest[digits:]
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    """`YYYY-MM-DD` or a timestamp (ADO sends `2026-04-06T00:00:00Z`)."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    dt = parse_datetime(value)
    return dt.date() if dt else None


def epoch_ms(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def label_list(labels: list[str], loc: list[str | int], limit: int) -> tuple[str, ...]:
    if len(labels) > limit:
        raise invalid(loc, f"{len(labels)} labels/tags; at most {limit} are accepted")
    out: list[str] = []
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            raise invalid([*loc, i], "must be a string")
        label = label.strip()
        if len(label) > 200:
            raise invalid([*loc, i], "longer than 200 characters")
        if label and label not in out:
            out.append(label)
    return tuple(out)
