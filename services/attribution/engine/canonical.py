"""Canonical JSON: the byte form that hashes are taken over.

Sorted keys, no whitespace, UTF-8, decimals as strings, dates ISO 8601. Decimals are written
in *normalized* form (no exponent, no trailing fractional zeros, no negative zero), so equal
values give equal bytes: ``Decimal("0.80")``, ``Decimal("0.8")`` and ``0.8`` parsed by the
rules all become ``"0.8"``; a money amount ``128000.00`` becomes ``"128000"``. Floats are
refused: their binary form would make a hash depend on how a number was typed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel

Json = None | bool | int | str | list["Json"] | dict[str, "Json"]


def decimal_str(value: Decimal) -> str:
    """The canonical string of a finite decimal: ``"2.50"`` → ``"2.5"``, ``"1E+2"`` → ``"100"``.

    Done on the string form rather than with ``Decimal.normalize`` because ``normalize``
    rounds to the context precision, which would silently change long values.
    """
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def normalize_decimal(value: Decimal) -> Decimal:
    """The same value with the exponent made canonical (see :func:`decimal_str`)."""
    return Decimal(decimal_str(value))


def to_json_value(obj: object) -> Json:
    """Convert engine values (dataclasses, pydantic models, Decimal, dates) to plain JSON."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        raise TypeError("floats are not canonical; use Decimal")
    if isinstance(obj, Decimal):
        return decimal_str(obj)
    if isinstance(obj, datetime):
        # Naive datetimes are taken as UTC, the convention for every time in the ledger.
        aware = obj if obj.tzinfo is not None else obj.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, BaseModel):
        return to_json_value(obj.model_dump(mode="python", exclude_none=True))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json_value(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        out: dict[str, Json] = {}
        for key, item in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, got {key!r}")
            out[key] = to_json_value(item)
        return out
    if isinstance(obj, list | tuple):
        return [to_json_value(item) for item in obj]
    raise TypeError(f"cannot write {type(obj).__name__} as canonical JSON")


def canonical_json(obj: object) -> bytes:
    """Sorted keys, no whitespace, decimals as normalized strings, dates ISO; UTF-8 bytes."""
    return json.dumps(
        to_json_value(obj),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
