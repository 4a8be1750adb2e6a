"""Pre-serialized JSON responses for hot read paths.

A route that builds its answer as plain dicts (from Core rows) and returns `json_response`
skips pydantic entirely: FastAPI does not validate or serialize a returned `Response` again.
Keep `response_model=` on the decorator so the OpenAPI document is unchanged, and test the
dict builder against the model (`TypeAdapter(Model).dump_json` == `dumps(doc)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Response

# Timestamps as pydantic writes them: UTC with `Z`, microseconds only when non-zero
# (SQLite hands datetimes back naive; they were stored in UTC). Dates as `YYYY-MM-DD`.
OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def dumps(content: Any) -> bytes:
    """JSON bytes of a document of JSON types, dates and datetimes, as pydantic writes it."""
    return orjson.dumps(content, option=OPTIONS)


def iso(dt: datetime) -> str:
    """A timestamp as a string, exactly as `dumps` (and pydantic) write it."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset():
        dt = dt.astimezone(UTC)
    text = dt.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def json_response(
    content: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """`content` serialized once, with orjson, as an `application/json` response."""
    return Response(
        dumps(content), status_code=status_code, media_type="application/json", headers=headers
    )
