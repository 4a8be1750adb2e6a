"""SQL for the webhook inbox and the epic lookups webhooks need."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import defer

from outcomes.models import Contribution, Epic, Kpi, WebhookDelivery
from outcomes.models.base import new_id
from outcomes.webhooks.events import SourceEvent

# A delivery in one of these states has been dealt with: a later one with the same
# dedupe key is a duplicate. `failed` / `received` ones are not, so a retry still applies.
DONE_STATUSES = ("processed", "ignored", "stale")
# Advisory-lock class for "one webhook at a time per source item" (PostgreSQL).
_ITEM_LOCK_CLASS = 0x77686B  # "whk"
_DELIVERIES = WebhookDelivery.metadata.tables[WebhookDelivery.__tablename__]

# The batch statements are built once (building one costs about as much as running it).
_INSERT_MANY = insert(_DELIVERIES).returning(_DELIVERIES.c.pk, sort_by_parameter_order=True)
_LOCK_ITEMS = text("SELECT pg_advisory_xact_lock(:c, k) FROM unnest(CAST(:keys AS int4[])) AS t(k)")
# Only the (source, dedupe_key) index's columns in the WHERE, no ORDER BY: whatever the
# statistics say, the plan is that index (ordering by pk, or filtering on status, could
# lead the planner to walk the whole inbox — measured growing to 2.7 ms a call within
# 30 s of a burst). The few rows per key are filtered and ordered here.
_DONE_MANY = select(
    _DELIVERIES.c.pk, _DELIVERIES.c.dedupe_key, _DELIVERIES.c.id, _DELIVERIES.c.status
).where(
    _DELIVERIES.c.source == bindparam("source"),
    _DELIVERIES.c.dedupe_key.in_(bindparam("keys", expanding=True)),
)
_MARK_MANY = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.pk == bindparam("b_pk"))
    .values(
        status=bindparam("b_status"),
        reason=bindparam("b_reason"),
        epic_id=bindparam("b_epic_id"),
        processed_at=bindparam("b_processed_at"),
        attempts=_DELIVERIES.c.attempts + 1,
    )
)
# By source id alone, the source checked on the rows: `source = 'jira'` must never drive
# the plan. With statistics from before a Jira connection (a ledger of manual epics;
# autovacuum off) PostgreSQL thinks no epic is from Jira and scans every Jira epic through
# the `source` index — 17 ms per lookup at 75,000 of them, instead of 0.3 ms.
_EPICS_BY_SOURCE_ID = (
    select(Epic).where(Epic.source_id.in_(bindparam("ids", expanding=True))).order_by(Epic.pk)
)
# A batch's epics and the key check of its creates, read together (one round trip fewer).
_EPICS_BY_SOURCE_ID_OR_KEY = (
    select(Epic)
    .where(
        or_(
            Epic.source_id.in_(bindparam("ids", expanding=True)),
            Epic.key.in_(bindparam("keys", expanding=True)),
        )
    )
    .order_by(Epic.pk)
)


async def insert_delivery(session: AsyncSession, values: dict[str, Any]) -> tuple[int, str]:
    public_id = new_id()
    pk = await session.scalar(
        insert(WebhookDelivery).values(id=public_id, **values).returning(WebhookDelivery.pk)
    )
    assert pk is not None
    return pk, public_id


async def insert_deliveries(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]]
) -> list[tuple[int, str]]:
    """Store many deliveries in one statement (multi-row INSERT … RETURNING), in order."""
    ids = [new_id() for _ in rows]
    result = await conn.execute(
        _INSERT_MANY, [{"id": public_id, **row} for public_id, row in zip(ids, rows, strict=True)]
    )
    pks = [int(pk) for pk in result.scalars()]
    return list(zip(pks, ids, strict=True))


def _item_lock_key(source: str, item_id: str) -> int:
    return zlib.crc32(f"{source}:{item_id}".encode()) - 2**31  # fits int4


async def lock_item(session: AsyncSession, source: str, item_id: str) -> None:
    """Serialize processing per source item so ordering and dedupe decisions cannot race.
    PostgreSQL: a transaction-scoped advisory lock; SQLite writers hold the database lock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:c, :k)"),
            {"c": _ITEM_LOCK_CLASS, "k": _item_lock_key(source, item_id)},
        )


_FRESH_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def plan_afresh(session: AsyncSession) -> None:
    """PostgreSQL: plan this transaction's statements for their parameters every time.

    The inbox and the epics grow by hundreds of rows a second under a burst of deliveries.
    A pooled connection's prepared statement switches to a generic plan after five runs;
    chosen while the inbox was small (or its statistics stale — autovacuum off, or not
    yet run), that plan can be a sequential scan, kept for the connection's life: the
    dedupe lookup and the outcome UPDATE then grow with the table (measured: from 0.3 to
    4.8 ms and 0.06 to 0.8 ms per call within 30 s, throughput falling 616 → 420/s). A
    custom plan costs ~0.1 ms of planning and always uses the indexes."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_FRESH_PLANS)


async def lock_items(session: AsyncSession, items: Sequence[tuple[str, str]]) -> None:
    """`lock_item` for many items in one statement, in ascending key order, so two batches
    (or a batch and a lone delivery) never wait for each other in a cycle."""
    if not items or session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_item_lock_key(source, item_id) for source, item_id in items})
    await session.execute(_LOCK_ITEMS, {"c": _ITEM_LOCK_CLASS, "keys": keys})


async def find_done(
    session: AsyncSession, source: str, dedupe_key: str, *, other_than: int
) -> str | None:
    """The id of an earlier delivery with this dedupe key that was already dealt with."""
    return await session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.source == source,
            WebhookDelivery.dedupe_key == dedupe_key,
            WebhookDelivery.pk != other_than,
            WebhookDelivery.status.in_(DONE_STATUSES),
        )
        .order_by(WebhookDelivery.pk)
        .limit(1)
    )


async def find_done_many(
    session: AsyncSession, source: str, dedupe_keys: Sequence[str]
) -> dict[str, str]:
    """`find_done` for many keys at once: dedupe key → id of the first delivery with it that
    was already dealt with (the batch's own deliveries are all still `received`)."""
    if not dedupe_keys:
        return {}
    rows = await session.execute(_DONE_MANY, {"source": source, "keys": sorted(set(dedupe_keys))})
    out: dict[str, str] = {}
    for _, key, delivery_id, status in sorted(rows):
        if key is not None and status in DONE_STATUSES:
            out.setdefault(key, delivery_id)
    return out


async def mark_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record many outcomes in one executemany; rows carry `b_pk`, `b_status`, `b_reason`,
    `b_epic_id`, `b_processed_at` (the event columns were written with the delivery)."""
    if rows:
        await session.execute(_MARK_MANY, list(rows))


async def mark(
    session: AsyncSession,
    pk: int,
    *,
    status: str,
    reason: str | None,
    epic_id: str | None,
    processed_at: datetime,
    event: SourceEvent | None = None,
) -> None:
    """Record the outcome of one processing attempt (and what the event was parsed into,
    which a replay of a once-rejected delivery learns only now)."""
    values: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "epic_id": epic_id,
        "processed_at": processed_at,
        "attempts": WebhookDelivery.attempts + 1,
    }
    if event is not None:
        values.update(
            event_type=event.event_type,
            dedupe_key=event.dedupe_key[:300],
            item_key=event.item_id,
            item_order=event.item_order,
        )
    await session.execute(update(WebhookDelivery).where(WebhookDelivery.pk == pk).values(values))


async def get(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return (
        await session.scalars(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
    ).first()


async def list_page(
    session: AsyncSession,
    *,
    status: str | None,
    source: str | None,
    after_pk: int | None,
    limit: int,
) -> list[tuple[WebhookDelivery, int]]:
    """Deliveries in arrival order with their body sizes (bodies are not loaded)."""
    stmt = select(WebhookDelivery, func.length(WebhookDelivery.body)).options(
        defer(WebhookDelivery.body)
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if source is not None:
        stmt = stmt.where(WebhookDelivery.source == source)
    if after_pk is not None:
        stmt = stmt.where(WebhookDelivery.pk > after_pk)
    rows = await session.execute(stmt.order_by(WebhookDelivery.pk).limit(limit))
    return [(row[0], int(row[1] or 0)) for row in rows]


async def epic_by_source(session: AsyncSession, source: str, source_id: str) -> Epic | None:
    return (await epics_by_source(session, source, [source_id])).get(source_id)


async def epics_by_source(
    session: AsyncSession, source: str, source_ids: Sequence[str]
) -> dict[str, Epic]:
    """`epic_by_source` for many items: source id → its (first) epic; absent: none."""
    if not source_ids:
        return {}
    rows = await session.scalars(_EPICS_BY_SOURCE_ID, {"ids": sorted(set(source_ids))})
    out: dict[str, Epic] = {}
    for epic in rows:
        if epic.source == source and epic.source_id is not None:
            out.setdefault(epic.source_id, epic)
    return out


async def epics_for_batch(
    session: AsyncSession, items: Sequence[tuple[str, str]], keys: Sequence[str]
) -> tuple[dict[tuple[str, str], Epic], set[str]]:
    """For a batch, in one statement: the epics of these (source, source id) items (the
    first of each), and which of these epic keys are in use."""
    if not items and not keys:
        return {}, set()
    ids, wanted = sorted({sid for _, sid in items}), set(items)
    stmt = _EPICS_BY_SOURCE_ID_OR_KEY
    rows = await session.scalars(stmt, {"ids": ids, "keys": sorted(set(keys))})
    by_item: dict[tuple[str, str], Epic] = {}
    in_use: set[str] = set()
    asked = set(keys)
    for epic in rows:
        item = (epic.source, epic.source_id or "")
        if item in wanted:
            by_item.setdefault(item, epic)
        if epic.key in asked:
            in_use.add(epic.key)
    return by_item, in_use


async def epic_by_key(session: AsyncSession, key: str) -> Epic | None:
    return (await session.scalars(select(Epic).where(Epic.key == key).limit(1))).first()


async def existing_kpis(session: AsyncSession, slugs: Sequence[str]) -> set[str]:
    if not slugs:
        return set()
    rows = await session.scalars(select(Kpi.slug).where(Kpi.slug.in_(list(slugs))))
    return set(rows.all())


async def linked_kpis(session: AsyncSession, epic_pk: int) -> dict[str, Contribution]:
    rows = await session.execute(
        select(Kpi.slug, Contribution)
        .join(Kpi, Kpi.pk == Contribution.kpi_pk)
        .where(Contribution.epic_pk == epic_pk)
    )
    return {row[0]: row[1] for row in rows}
