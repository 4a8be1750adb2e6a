"""Measurements: bitemporal KPI values per period and segment.

A value is never overwritten. Writing a (period, segment) that has no value creates version
1; writing a different value stamps the current version's `superseded_at` and inserts the
next version (a *correction*); writing the same value again changes nothing. So "what did we
know at T" is answered by the versions with `recorded_at <= T < superseded_at`.

Writes are all-or-nothing: every row is validated before anything is written, and the
whole batch is one transaction. Writers of one KPI are serialized by locking the KPI's row
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite already has a single writer), so two concurrent
batches can never both create a "current" version of the same period — the partial unique
index `ux_measurements_current` is the backstop (a violation answers 409, nothing stored).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.errors import ValidationFailed
from ledgerkit.fastjson import iso
from ledgerkit.money import decimal_str
from ledgerkit.pagination import decode_cursor, encode_cursor
from ledgerkit.timeutil import as_utc, utcnow
from outcomes.changes.service import record_change
from outcomes.kpis.periods import period_error
from outcomes.measurements import store
from outcomes.measurements.schemas import (
    MeasurementPage,
    MeasurementRead,
    MeasurementVersionPage,
    MeasurementVersionRead,
    MeasurementWrite,
    MeasurementWriteResult,
)
from outcomes.models import Kpi, Measurement


def _same(stored: Decimal, new: Decimal, *, sqlite: bool) -> bool:
    if stored == new:
        return True
    # SQLite keeps NUMERIC as a double: a value with more than ~15 significant digits comes
    # back rounded, and re-sending it must still count as unchanged.
    return sqlite and float(stored) == float(new)


def _row_error(loc: list[Any], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg}


def _check_rows(kpi: Kpi, rows: list[MeasurementWrite], *, bulk: bool) -> None:
    """Cadence and duplicate checks; 422 naming every bad row, before anything is written."""
    errors: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        base: list[Any] = ["body", i] if bulk else ["body"]
        why = period_error(row.period, kpi.cadence)
        if why:
            errors.append(_row_error([*base, "period"], why))
            continue
        key = (row.period, row.segment)
        if key in seen:
            errors.append(
                _row_error(
                    [*base, "period"],
                    f"duplicate of row {seen[key]} (period {row.period!r}, segment "
                    f"{row.segment!r}); send each period and segment once per request",
                )
            )
        else:
            seen[key] = i
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValidationFailed(
            f"{where}: {first['msg']}{more}; nothing was stored", errors=errors[:1000]
        )


def measurement_data(
    slug: str,
    period: str,
    segment: str,
    value: Decimal,
    source: str | None,
    recorded_at: datetime,
    version: int,
) -> dict[str, Any]:
    """A measurement's REST read shape as JSON types (the change-log `data`): what
    `MeasurementRead(...).model_dump(mode="json")` gives, built directly (bulk writes make
    one per row)."""
    return measurement_json(slug, period, segment, value, source, iso(recorded_at), version)


def measurement_json(
    slug: str,
    period: str,
    segment: str,
    value: Decimal,
    source: str | None,
    recorded_at: str,
    version: int,
) -> dict[str, Any]:
    """`measurement_data` with `recorded_at` already a JSON timestamp (`fastjson.iso`)."""
    return {
        "kpi": slug,
        "period": period,
        "segment": segment,
        "value": decimal_str(value),
        "source": source,
        "recorded_at": recorded_at,
        "version": version,
    }


async def write_measurements(
    session: AsyncSession,
    kpi: Kpi,
    rows: list[MeasurementWrite],
    *,
    actor: str,
    bulk: bool = True,
) -> MeasurementWriteResult:
    """Record values for `kpi` (whose row the caller has locked). All rows or none."""
    _check_rows(kpi, rows, bulk=bulk)
    if not rows:
        return MeasurementWriteResult(created=0, corrected=0, unchanged=0)
    sqlite = session.get_bind().dialect.name == "sqlite"
    current = await store.current_versions(session, kpi.pk, (r.period for r in rows))
    now = utcnow()
    now_json = iso(now)
    inserts: list[dict[str, Any]] = []
    superseded: list[int] = []
    changes: list[tuple[str, dict[str, Any]]] = []
    unchanged = 0
    for row in rows:
        old = current.get((row.period, row.segment))
        if old is not None and _same(old.value, row.value, sqlite=sqlite):
            unchanged += 1
            continue
        version = 1 if old is None else old.version + 1
        if old is not None:
            superseded.append(old.pk)
        inserts.append(
            {
                "kpi_pk": kpi.pk,
                "period": row.period,
                "segment": row.segment,
                "value": row.value,
                "source": row.source,
                "version": version,
                "recorded_at": now,
                "superseded_at": None,
                "recorded_by": actor,
            }
        )
        data = measurement_json(
            kpi.slug, row.period, row.segment, row.value, row.source, now_json, version
        )
        changes.append(("recorded" if old is None else "corrected", data))
    # Old versions first: the partial unique index allows one current version at a time.
    await store.supersede(session, superseded, now)
    await store.insert_many(session, inserts)
    for action, data in changes:
        record_change(
            session,
            actor=actor,
            entity="measurement",
            entity_id=f"{kpi.slug}:{data['period']}:{data['segment']}",
            action=action,
            data=data,
        )
    return MeasurementWriteResult(
        created=len(inserts) - len(superseded), corrected=len(superseded), unchanged=unchanged
    )


def _read(slug: str, m: Measurement) -> MeasurementRead:
    return MeasurementRead.model_construct(
        kpi=slug,
        period=m.period,
        segment=m.segment,
        value=m.value,
        source=m.source,
        recorded_at=as_utc(m.recorded_at),
        version=m.version,
    )


def _check_query_period(kpi: Kpi, name: str, period: str | None) -> None:
    if period is None:
        return
    why = period_error(period, kpi.cadence)
    if why:
        raise ValidationFailed(
            f"query.{name}: {why}", errors=[{"loc": ["query", name], "msg": why}]
        )


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this endpoint issued; start again without `cursor`.",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
    )


async def list_measurements(
    session: AsyncSession,
    kpi: Kpi,
    *,
    period_from: str | None,
    period_to: str | None,
    segment: str | None,
    as_of: datetime | None,
    limit: int,
    cursor: str | None,
) -> MeasurementPage:
    """The values as known at `as_of` (default: now), by period then segment."""
    _check_query_period(kpi, "from", period_from)
    _check_query_period(kpi, "to", period_to)
    position = decode_cursor(cursor)
    after: tuple[str, str] | None = None
    if position is not None:
        if not (
            isinstance(position, list)
            and len(position) == 2
            and all(isinstance(p, str) for p in position)
        ):
            raise _bad_cursor()
        after = (position[0], position[1])
    rows = await store.list_known(
        session,
        kpi.pk,
        period_from=period_from,
        period_to=period_to,
        segment=segment,
        as_of=as_utc(as_of) if as_of else None,
        after=after,
        limit=limit,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return MeasurementPage(
        items=[_read(kpi.slug, m) for m in rows],
        next_cursor=encode_cursor([rows[-1].period, rows[-1].segment]) if more else None,
    )


async def list_versions(
    session: AsyncSession,
    kpi: Kpi,
    *,
    period: str,
    segment: str | None,
    limit: int,
    cursor: str | None,
) -> MeasurementVersionPage:
    """Every stored version of a period (audit): corrections never delete anything."""
    _check_query_period(kpi, "period", period)
    position = decode_cursor(cursor)
    after: tuple[str, int] | None = None
    if position is not None:
        if not (
            isinstance(position, list)
            and len(position) == 2
            and isinstance(position[0], str)
            and isinstance(position[1], int)
        ):
            raise _bad_cursor()
        after = (position[0], position[1])
    rows = await store.list_versions(
        session, kpi.pk, period=period, segment=segment, after=after, limit=limit
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return MeasurementVersionPage(
        items=[
            MeasurementVersionRead.model_construct(
                kpi=kpi.slug,
                period=m.period,
                segment=m.segment,
                value=m.value,
                source=m.source,
                recorded_at=as_utc(m.recorded_at),
                version=m.version,
                superseded_at=as_utc(m.superseded_at) if m.superseded_at else None,
                recorded_by=m.recorded_by,
            )
            for m in rows
        ],
        next_cursor=encode_cursor([rows[-1].segment, rows[-1].version]) if more else None,
    )
