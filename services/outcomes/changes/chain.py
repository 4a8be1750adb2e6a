"""The hash chain: how an entry is hashed, so writer and verifier agree byte for byte."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class EntryBody:
    """An entry's canonical bytes split around the parts known only under the chain lock
    (`at`, `seq`), so the expensive part (the `data` document) is serialized before the
    lock is taken. `canonical` sorts keys: action, actor, at, data, entity, entity_id, seq.
    `head + at + middle + seq + b"}"` is exactly `canonical(entry)`."""

    head: bytes  # {"action":…,"actor":…,"at":
    middle: bytes  # ,"data":{…},"entity":…,"entity_id":…,"seq":

    @classmethod
    def of(cls, *, actor: str, entity: str, entity_id: str, action: str, data: Any) -> EntryBody:
        dump = orjson.dumps
        return cls(
            b'{"action":' + dump(action) + b',"actor":' + dump(actor) + b',"at":',
            b',"data":'
            + dump(data, option=orjson.OPT_SORT_KEYS)
            + b',"entity":'
            + dump(entity)
            + b',"entity_id":'
            + dump(entity_id)
            + b',"seq":',
        )

    def hash(self, *, seq: int, at_json: bytes, prev_hash: str) -> str:
        """`entry_hash` of this entry at `seq`, `at` (`at_json`: `dumps(iso_utc(at))`)."""
        body = self.head + at_json + self.middle + str(seq).encode() + b"}"
        return hashlib.sha256(prev_hash.encode() + body).hexdigest()
