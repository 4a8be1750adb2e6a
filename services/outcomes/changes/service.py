"""The change log: every create/update/archive/correction/agreement appends one entry, in
the same transaction as the change.

Entries are buffered on the session while the request works and written by a
`before_commit` hook, so the chain lock (which serializes all writers) is held only for
the last moments of a transaction, not for the whole request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ledgerkit.timeutil import iso_utc, utcnow
from outcomes.changes import store
from outcomes.changes.chain import GENESIS, EntryBody, entry_hash

_PENDING = "ledger_pending_changes"


@dataclass(frozen=True, slots=True)
class PendingChange:
    actor: str
    entity: str
    entity_id: str
    action: str
    data: dict[str, Any]
    body: EntryBody


def record_change(
    session: AsyncSession,
    *,
    actor: str,
    entity: str,
    entity_id: str,
    action: str,
    data: dict[str, Any],
) -> None:
    """Queue a change-log entry; it is written, chained and committed with the transaction.

    `data` is the entity's new state as the API returns it (JSON types only: decimals as
    strings, dates as ISO strings) — consumers of the feed rebuild state from it. Its
    canonical bytes are computed now, outside the chain lock.
    """
    pending: list[PendingChange] = session.sync_session.info.setdefault(_PENDING, [])
    body = EntryBody.of(actor=actor, entity=entity, entity_id=entity_id, action=action, data=data)
    pending.append(PendingChange(actor, entity, entity_id, action, data, body))


@event.listens_for(Session, "before_commit")
def _write_pending_changes(session: Session) -> None:
    pending: list[PendingChange] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Under the chain lock only: read the head, stamp, hash (sha256 over precomputed bytes)
    # and insert every entry in one statement (executemany). One `at` for the whole
    # transaction: its entries commit together.
    store.lock_chain_sync(session)
    head = store.head_sync(session)
    seq, prev = head if head else (0, GENESIS)
    at = utcnow()
    at_json = orjson.dumps(iso_utc(at))
    rows: list[dict[str, Any]] = []
    for p in pending:
        seq += 1
        digest = p.body.hash(seq=seq, at_json=at_json, prev_hash=prev)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": p.actor,
                "entity": p.entity,
                "entity_id": p.entity_id,
                "action": p.action,
                "data": p.data,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    store.insert_sync(session, rows)


@event.listens_for(Session, "after_rollback")
def _drop_pending_changes(session: Session) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    length: int
    head: str | None
    first_broken_seq: int | None = None
    reason: str | None = None


async def verify_chain(session: AsyncSession) -> VerifyResult:
    """Re-walk the chain from the start; report the first entry whose link or hash breaks."""
    prev = GENESIS
    expected_seq = 0
    async for c in store.walk(session):
        expected_seq += 1
        problem = None
        if c.seq != expected_seq:
            problem = f"gap: expected seq {expected_seq}, found {c.seq}"
        elif c.prev_hash != prev:
            problem = "prev_hash does not match the previous entry's hash"
        else:
            recomputed = entry_hash(
                seq=c.seq,
                at=c.at,
                actor=c.actor,
                entity=c.entity,
                entity_id=c.entity_id,
                action=c.action,
                data=c.data,
                prev_hash=c.prev_hash,
            )
            if recomputed != c.hash:
                problem = "hash does not match the entry's content (modified after writing)"
        if problem:
            return VerifyResult(False, expected_seq - 1, prev, c.seq, problem)
        prev = c.hash
    return VerifyResult(True, expected_seq, prev if expected_seq else None)
