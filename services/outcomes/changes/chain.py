"""The hash chain: how an entry is hashed, so writer and verifier agree byte for byte."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from ledgerkit.timeutil import iso_utc

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace; values are already JSON types (decimals as strings)."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    entity: str,
    entity_id: str,
    action: str,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    body = canonical(
        {
            "seq": seq,
            "at": iso_utc(at),
            "actor": actor,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "data": data,
        }
    )
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()
