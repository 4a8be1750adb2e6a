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


# Field names per dataclass type (``dataclasses.fields`` is slow, and a snapshot has 10^4+
# rows): the conversion below is ``to_json_value``'s, with the common types first.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def to_json_value(obj: object) -> Json:
    """Convert engine values (dataclasses, pydantic models, Decimal, dates) to plain JSON."""
    kind = type(obj)
    if kind is str or kind is int or obj is None:
        return obj  # type: ignore[return-value]
    if kind is Decimal:
        return decimal_str(obj)  # type: ignore[arg-type]
    names = _FIELD_NAMES.get(kind)
    if names is not None:
        return {name: to_json_value(getattr(obj, name)) for name in names}
    if kind is tuple or kind is list:
        return [to_json_value(item) for item in obj]  # type: ignore[attr-defined]
    return _to_json_value(obj)


def _to_json_value(obj: object) -> Json:
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
        names = tuple(f.name for f in dataclasses.fields(obj))
        _FIELD_NAMES[type(obj)] = names
        return {name: to_json_value(getattr(obj, name)) for name in names}
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
