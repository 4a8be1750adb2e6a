"""Opaque cursor pagination: `?limit=&cursor=` in, `{"items", "next_cursor"}` out."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from ledgerkit.errors import ValidationFailed

T = TypeVar("T")

LimitParam = Annotated[int, Query(ge=1, le=500, description="Page size (1–500).")]
CursorParam = Annotated[
    str | None, Query(max_length=512, description="Opaque cursor from `next_cursor`.")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The position a cursor stands for, or None; a cursor we did not issue → 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is not one this service issued; start again without `cursor`.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc
