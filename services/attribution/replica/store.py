"""All SQL of the replica: the follower's position, applying a page of the change feed, and
the bitemporal "as known at T" reads that runs are built from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from attribution.engine import decimal_str
from attribution.models import (
    ReplicaContribution,
    ReplicaEpic,
    ReplicaKpi,
    ReplicaMeasurement,
    ReplicaState,
)
from attribution.replica.errors import FeedInconsistent
from ledgerkit.timeutil import as_utc, utcnow

STATE_ID = 1

EPICS: Table = ReplicaEpic.__table__  # type: ignore[assignment]
KPIS: Table = ReplicaKpi.__table__  # type: ignore[assignment]
CONTRIBUTIONS: Table = ReplicaContribution.__table__  # type: ignore[assignment]
MEASUREMENTS: Table = ReplicaMeasurement.__table__  # type: ignore[assignment]
STATE: Table = ReplicaState.__table__  # type: ignore[assignment]

# Which columns identify an entity in each table (its versions share them).
_KEYS: dict[str, tuple[str, ...]] = {
    "epic": ("id",),
    "kpi": ("slug",),
    "contribution": ("epic_id", "kpi"),
    "measurement": ("kpi", "period", "segment"),
}
_TABLES: dict[str, Table] = {
    "epic": EPICS,
    "kpi": KPIS,
    "contribution": CONTRIBUTIONS,
    "measurement": MEASUREMENTS,
}
# Actions that can only be an entity's first version: nothing to supersede.
_FIRST_ACTIONS = {("epic", "created"), ("kpi", "created"), ("measurement", "recorded")}


def _dec(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return decimal_str(Decimal(str(value)))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def _ts(value: Any, default: datetime) -> datetime:
    if isinstance(value, str) and value:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return default


def _get(data: dict[str, Any], name: str, key: str) -> Any:
    inner = data.get(name)
    return inner.get(key) if isinstance(inner, dict) else None


def _row(entity: str, action: str, seq: int, at: datetime, d: dict[str, Any]) -> dict[str, Any]:
    """The replica row for one feed entry (`d` is the entity's full new state)."""
    if entity == "epic":
        cost = d.get("planned_cost") or None
        return {
            "seq": seq,
            "id": str(d["id"]),
            "key": str(d.get("key") or d["id"]),
            "title": str(d.get("title") or "")[:500],
            "status": str(d.get("status") or "active"),
            "team": d.get("team"),
            "streams": list(d.get("streams") or []),
            "planned_cost_amount": _dec(cost.get("amount")) if cost else None,
            "planned_cost_currency": cost.get("currency") if cost else None,
            "start_date": d.get("start_date"),
            "recorded_at": at,
            "superseded_at": None,
        }
    if entity == "kpi":
        return {
            "seq": seq,
            "slug": str(d["slug"]),
            "name": str(d.get("name") or d["slug"])[:300],
            "stream": d.get("stream"),
            "unit": str(d.get("unit") or ""),
            "direction": str(d.get("direction") or "increase"),
            "cadence": str(d.get("cadence") or "monthly"),
            "baseline": _dec(_get(d, "baseline", "value")),
            "target": _dec(_get(d, "target", "value")),
            "target_due": _get(d, "target", "due"),
            "vpu_amount": _dec(_get(d, "value_per_unit", "amount")),
            "vpu_currency": _get(d, "value_per_unit", "currency"),
            "vpu_per": _get(d, "value_per_unit", "per"),
            "recorded_at": at,
            "superseded_at": None,
        }
    if entity == "contribution":
        return {
            "seq": seq,
            "epic_id": str(d["epic_id"]),
            "kpi": str(d["kpi"]),
            "expected_uplift": _dec(d.get("expected_uplift")),
            "claimed_share": _dec(d.get("claimed_share")),
            "deleted": action == "deleted",
            "recorded_at": at,
            "superseded_at": None,
        }
    # measurement: known from its own recorded_at (what outcomes' as_of reads use)
    return {
        "seq": seq,
        "kpi": str(d["kpi"]),
        "period": str(d["period"]),
        "segment": str(d.get("segment") or "all"),
        "value": _dec(d["value"]),
        "version": int(d.get("version") or 1),
        "recorded_at": _ts(d.get("recorded_at"), at),
        "superseded_at": None,
    }


def _sqlite_time(value: datetime | None) -> str | None:
    # The form SQLAlchemy itself stores on SQLite (so its reads and comparisons agree).
    return None if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _records(rows: list[dict[str, Any]], postgresql: bool) -> list[tuple[Any, ...]]:
    """Rows (dicts built by `_row`, so all with one key order) as driver tuples. Only the
    columns that need it are converted: JSON lists to text, and on SQLite times and bools
    to what SQLAlchemy stores."""
    cols = list(rows[0])
    convert: list[tuple[int, Any]] = []
    for i, name in enumerate(cols):
        if name == "streams":
            convert.append((i, _json_text))
        elif not postgresql and name in ("recorded_at", "superseded_at"):
            convert.append((i, _sqlite_time))
        elif not postgresql and name == "deleted":
            convert.append((i, int))
    if not convert:
        return [tuple(row.values()) for row in rows]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row.values())
        for i, fn in convert:
            values[i] = fn(values[i])
        out.append(tuple(values))
    return out


async def _driver(session: AsyncSession) -> tuple[Any, bool]:
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection, conn.dialect.name == "postgresql"


async def bulk_insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) on the session's connection, in its
    transaction: COPY on PostgreSQL, one executemany on SQLite — without SQLAlchemy's
    per-parameter processing, which would cost more than the database work."""
    driver, on_postgresql = await _driver(session)
    cols = list(rows[0])
    records = _records(rows, on_postgresql)
    if on_postgresql:
        await driver.copy_records_to_table(table.name, records=records, columns=cols)
        return
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    await driver.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', records)


_PG_ARRAY = {"seq": "int[]", "t": "timestamptz[]"}


async def bulk_supersede(
    session: AsyncSession, table: Table, keys: tuple[str, ...], items: list[tuple[Any, ...]]
) -> None:
    """Close the current version of each entity: ``items`` are (*key values, seq, time);
    rows with that key, no ``superseded_at`` yet and a lower seq get ``superseded_at`` =
    time. Each key appears once per call (later versions in the same page are closed in
    memory), so one set-based UPDATE (PostgreSQL: joined to unnest()ed arrays) equals one
    UPDATE per item."""
    driver, on_postgresql = await _driver(session)
    match = " AND ".join(f't."{k}" = v."{k}"' for k in keys)
    if on_postgresql:
        names = [*keys, "seq", "t"]
        arrays = ", ".join(f"${i + 1}::{_PG_ARRAY.get(n, 'text[]')}" for i, n in enumerate(names))
        columns = list(zip(*items, strict=True))
        await driver.execute(
            f'UPDATE "{table.name}" AS t SET superseded_at = v.t '
            f"FROM unnest({arrays}) AS v({', '.join(chr(34) + n + chr(34) for n in names)}) "
            f"WHERE {match} AND t.superseded_at IS NULL AND t.seq < v.seq",
            *[list(c) for c in columns],
        )
        return
    where = " AND ".join(f'"{k}" = ?' for k in keys)
    await driver.executemany(
        f'UPDATE "{table.name}" SET superseded_at = ? '
        f"WHERE {where} AND superseded_at IS NULL AND seq < ?",
        [(_sqlite_time(item[-1]), *item[:-2], item[-2]) for item in items],
    )


@dataclass
class PageResult:
    applied: int = 0
    skipped: int = 0
    after: int = 0
    by_entity: dict[str, int] = field(default_factory=dict)


async def _ensure_state(session: AsyncSession) -> None:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    values = {"id": STATE_ID, "after": 0, "head": 0, "updated_at": utcnow()}
    if dialect == "postgresql":
        await session.execute(
            postgresql.insert(STATE).values(values).on_conflict_do_nothing(index_elements=["id"])
        )
    else:
        await session.execute(sqlite.insert(STATE).values(values).on_conflict_do_nothing())


async def read_state(session: AsyncSession, *, lock: bool = False) -> ReplicaState:
    """The follower's position (created at 0 on first use). `lock` holds it for the
    transaction so two followers never apply the same page."""
    query = select(ReplicaState).where(ReplicaState.id == STATE_ID)
    if lock:
        query = query.with_for_update()
    state = (await session.execute(query)).scalar_one_or_none()
    if state is None:
        await _ensure_state(session)
        state = (await session.execute(query)).scalar_one()
    return state


async def peek_state(session: AsyncSession) -> ReplicaState | None:
    return (
        await session.execute(select(ReplicaState).where(ReplicaState.id == STATE_ID))
    ).scalar_one_or_none()


async def apply_page(
    session: AsyncSession, items: Sequence[dict[str, Any]], head: int
) -> PageResult:
    """Apply feed entries and advance the position, in the caller's (one) transaction.

    Entries at or below the stored position were applied before and are skipped, so a page
    fetched twice (a retry, two followers) is applied once. Bulk: one INSERT per table and
    one executemany UPDATE for the versions a page supersedes.
    """
    state = await read_state(session, lock=True)
    result = PageResult(after=state.after)
    position = state.after
    fresh = [item for item in items if int(item["seq"]) > position]
    result.skipped = len(items) - len(fresh)
    if not fresh:
        state.head = max(state.head, head)
        return result
    expected = state.after + 1
    for item in fresh:
        if int(item["seq"]) != expected:
            raise FeedInconsistent(
                f"the feed jumps from seq {expected - 1} to {item['seq']}; nothing applied"
            )
        expected += 1
    if state.last_hash is not None and fresh[0].get("prev_hash") != state.last_hash:
        raise FeedInconsistent(
            f"entry {fresh[0]['seq']} does not chain to the last applied entry "
            f"(prev_hash {fresh[0].get('prev_hash')!r} != {state.last_hash!r}); the outcomes "
            "log was rewritten or reset; nothing applied"
        )

    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
    latest: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
    supersede: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _TABLES}
    now = utcnow()  # for an entry without `at` (outcomes always sends it)
    for item in fresh:
        entity = item["entity"]
        if entity not in _TABLES:
            continue  # scores, decisions...: not needed for attribution
        at = _ts(item.get("at"), now)
        try:
            row = _row(entity, item["action"], int(item["seq"]), at, item["data"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FeedInconsistent(
                f"entry {item['seq']} ({entity} {item.get('entity_id')}): unreadable data: {exc}"
            ) from exc
        key = tuple(row[c] for c in _KEYS[entity])
        previous = latest.get((entity, key))
        if previous is not None:
            previous["superseded_at"] = row["recorded_at"]
        elif (entity, item["action"]) not in _FIRST_ACTIONS:
            supersede[entity].append((*key, row["seq"], row["recorded_at"]))
        latest[(entity, key)] = row
        rows[entity].append(row)
        result.by_entity[entity] = result.by_entity.get(entity, 0) + 1

    for entity, table in _TABLES.items():
        if supersede[entity]:
            await bulk_supersede(session, table, _KEYS[entity], supersede[entity])
        if rows[entity]:
            await bulk_insert(session, table, rows[entity])

    last = fresh[-1]
    state.after = int(last["seq"])
    state.last_hash = last.get("hash")
    state.head = max(head, state.after)
    state.last_success_at = utcnow()
    state.last_error = None
    state.updated_at = utcnow()
    result.applied = len(fresh)
    result.after = state.after
    await session.flush()
    return result


async def mark_success(session: AsyncSession, head: int) -> None:
    state = await read_state(session, lock=True)
    state.head = max(head, state.after)
    state.last_success_at = utcnow()
    state.last_error = None
    state.updated_at = utcnow()
    await session.flush()


async def mark_error(session: AsyncSession, message: str) -> None:
    state = await read_state(session, lock=True)
    state.last_error = message[:2000]
    state.last_error_at = utcnow()
    state.updated_at = utcnow()
    await session.flush()


# --- as-of reads -------------------------------------------------------------------------


def _known_at(table: Table, at: datetime) -> Any:
    at = as_utc(at)
    return and_(
        table.c.recorded_at <= at,
        or_(table.c.superseded_at.is_(None), table.c.superseded_at > at),
    )


async def kpis_at(session: AsyncSession, at: datetime) -> list[Any]:
    return list((await session.execute(select(KPIS).where(_known_at(KPIS, at)))).all())


async def epics_at(session: AsyncSession, at: datetime) -> list[Any]:
    return list((await session.execute(select(EPICS).where(_known_at(EPICS, at)))).all())


async def contributions_at(session: AsyncSession, at: datetime) -> list[Any]:
    c = CONTRIBUTIONS
    query = select(c).where(_known_at(c, at), c.c.deleted.is_(False))
    return list((await session.execute(query)).all())


async def measurements_at(session: AsyncSession, at: datetime, kpis: set[str]) -> list[Any]:
    m = MEASUREMENTS
    query = select(m.c.kpi, m.c.period, m.c.segment, m.c.value).where(_known_at(m, at))
    if len(kpis) <= 500:
        query = query.where(m.c.kpi.in_(sorted(kpis)))
    return [r for r in (await session.execute(query)).all() if r.kpi in kpis]


async def has_kpis(session: AsyncSession) -> bool:
    return bool((await session.execute(select(func.count()).select_from(KPIS))).scalar_one())
