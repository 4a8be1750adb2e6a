"""SQL for the GraphQL read side: set-based batch queries, one statement per loader batch.

Every nested list is fetched for *all* parents of a level at once: `WHERE parent IN (...)`
with `row_number()` / `count(*)` window functions partitioned by the parent, so a page
(`first`/`after`, or `last`) of each parent's children and each parent's total come back in
one statement (SQLite ≥ 3.25 and PostgreSQL). Core statements only: rows go straight into
GraphQL types, no ORM identity map in between.

The statements are built once per (dialect, page window, filter) and take the parents as
one `parents` parameter (`one_of`): on PostgreSQL `= ANY($1)` with an array, so the SQL
text — and asyncpg's prepared statement — is the same for any number of parents and no
per-parent placeholder is rendered on each execution; elsewhere an expanding `IN`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    any_,
    bindparam,
    func,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import KeyedColumnElement

from ledgerkit.graphql import GraphQLContext
from outcomes.models import (
    Change,
    Contribution,
    Decision,
    Epic,
    EpicStream,
    Kpi,
    Measurement,
    Score,
)

E = Epic.__table__.c
K = Kpi.__table__.c
C = Contribution.__table__.c
M = Measurement.__table__.c
S = Score.__table__.c
D = Decision.__table__.c
CH = Change.__table__.c

EPIC_COLS = [
    E.pk,
    E.id,
    E.key,
    E.title,
    E.streams,
    E.status,
    E.source,
    E.source_id,
    E.owner,
    E.team,
    E.planned_cost_amount,
    E.planned_cost_currency,
    E.start_date,
    E.target_date,
    E.hypothesis,
    E.change_type,
    E.sponsor,
    E.labels,
    E.warnings,
    E.version,
    E.created_at,
    E.updated_at,
    E.archived_at,
]
KPI_COLS = list(Kpi.__table__.c)
# The epic columns each `Epic` field reads; fields resolved through loaders need only `pk`.
_EPIC_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "key": ("key",),
    "title": ("title",),
    "streams": ("streams",),
    "status": ("status",),
    "source": ("source",),
    "sourceId": ("source_id",),
    "owner": ("owner",),
    "team": ("team",),
    "plannedCost": ("planned_cost_amount", "planned_cost_currency"),
    "startDate": ("start_date",),
    "targetDate": ("target_date",),
    "hypothesis": ("hypothesis",),
    "changeType": ("change_type",),
    "sponsor": ("sponsor",),
    "labels": ("labels",),
    "warnings": ("warnings",),
    "version": ("version",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "archivedAt": ("archived_at",),
}
_EPIC_LOADED = {"kpis", "contributions", "measurements", "scores", "decisions", "latestDecision"}
# Contribution columns, labelled so they can sit next to epic/KPI columns in one row.
CONTRIB_COLS = [
    C.pk.label("c_pk"),
    C.epic_pk.label("c_epic_pk"),
    C.kpi_pk.label("c_kpi_pk"),
    C.expected_uplift.label("c_expected_uplift"),
    C.expected_by.label("c_expected_by"),
    C.claimed_share.label("c_claimed_share"),
    C.version.label("c_version"),
    C.created_at.label("c_created_at"),
    C.updated_at.label("c_updated_at"),
]
CONTRIB_AT = {c.key: i for i, c in enumerate(CONTRIB_COLS)}  # a column's position in a row
CONTRIB_KPI_PK = CONTRIB_AT["c_kpi_pk"]
MEAS_COLS = [M.kpi_pk, M.period, M.segment, M.value, M.source, M.version, M.recorded_at]
MEAS_AT = {c.key: i for i, c in enumerate(MEAS_COLS)}  # a column's position in a row
SCORE_COLS = list(Score.__table__.c)
DECISION_COLS = list(Decision.__table__.c)
CHANGE_COLS = list(Change.__table__.c)


def _pruned(
    cols: list[Any],
    fields: Iterable[str] | None,
    by_field: dict[str, tuple[str, ...]],
    always: set[str],
    loaded: set[str],
) -> list[Any]:
    """`cols` with the columns no selected field reads replaced by NULL (a BI query asking
    for 6 fields does not fetch and decode 23 — timestamps and decimals cost the most).
    `fields` None (the selection is not known) or a field not in `by_field`/`loaded`:
    every column."""
    if fields is None:
        return cols
    wanted = set(always)
    for name in fields:
        if name in loaded or name == "__typename":
            continue
        columns = by_field.get(name)
        if columns is None:
            return cols
        wanted.update(columns)
    return [c if c.key in wanted else null().label(c.key) for c in cols]


def epic_columns(fields: Iterable[str] | None) -> list[Any]:
    """EPIC_COLS that the selected `Epic` fields read (`_pruned`)."""
    return _pruned(EPIC_COLS, fields, _EPIC_FIELD_COLUMNS, {"pk"}, _EPIC_LOADED)


_CONTRIB_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "expectedUplift": ("c_expected_uplift",),
    "expectedBy": ("c_expected_by",),
    "claimedShare": ("c_claimed_share",),
    "version": ("c_version",),
    "createdAt": ("c_created_at",),
    "updatedAt": ("c_updated_at",),
}
_MEAS_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "period": (),
    "segment": (),
    "value": ("value",),
    "source": ("source",),
    "version": ("version",),
    "recordedAt": ("recorded_at",),
}


def contribution_columns(fields: frozenset[str] | None) -> list[Any]:
    """CONTRIB_COLS that the selected `Contribution` fields read (`_pruned`); the keys are
    always read (`kpi`/`epic` resolve through them)."""
    return _pruned(
        CONTRIB_COLS,
        fields,
        _CONTRIB_FIELD_COLUMNS,
        {"c_pk", "c_epic_pk", "c_kpi_pk"},
        {"kpi", "epic"},
    )


def measurement_columns(fields: frozenset[str] | None) -> list[Any]:
    """MEAS_COLS that the selected `Measurement` fields read (`_pruned`); the KPI, period
    and segment (the order) are always read."""
    return _pruned(MEAS_COLS, fields, _MEAS_FIELD_COLUMNS, {"kpi_pk", "period", "segment"}, {"kpi"})


IN_CHUNK = 5000  # parents per statement; a level never has more than 500 × 50 in practice


def one_of(column: ColumnElement[Any], dialect: str) -> ColumnElement[bool]:
    """`column` is one of the statement's `parents` (a list bound at execution)."""
    if dialect == "postgresql":
        return column == any_(bindparam("parents", type_=ARRAY(column.type)))
    return column.in_(bindparam("parents", expanding=True))


class Window(NamedTuple):
    """Which rows of each parent's ordered children: `offset`..`offset+limit` (one more is
    fetched to tell whether there is a next page), or the last `limit` when `last`. A
    named tuple: loader keys hash it hundreds of times per query (in C, unlike a frozen
    dataclass's `__hash__`)."""

    offset: int = 0
    limit: int = 50
    last: bool = False


@dataclass(frozen=True)
class EpicFilter:
    stream: str | None = None
    status: str | None = None
    kpi: str | None = None
    source: str | None = None
    team: str | None = None
    q: str | None = None
    include_archived: bool = False


class MeasurementFilter(NamedTuple):  # hashed as often as `Window`
    period_from: str | None = None
    period_to: str | None = None
    segment: str | None = None
    as_of: datetime | None = None


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def epic_conditions(f: EpicFilter) -> list[ColumnElement[bool]]:
    """The REST list filters (`GET /v1/epics`), as WHERE conditions on `epics`."""
    conds: list[ColumnElement[bool]] = []
    if f.status is not None:
        conds.append(E.status == f.status)
    elif not f.include_archived:
        conds.append(E.status != "archived")
    if f.stream is not None:
        conds.append(E.pk.in_(select(EpicStream.epic_pk).where(EpicStream.stream == f.stream)))
    if f.kpi is not None:
        conds.append(E.pk.in_(select(C.epic_pk).join(Kpi, K.pk == C.kpi_pk).where(K.slug == f.kpi)))
    if f.source is not None:
        conds.append(E.source == f.source)
    if f.team is not None:
        conds.append(func.lower(E.team) == f.team.lower())
    if f.q:
        pattern = _like(f.q)
        conds.append(
            or_(
                func.lower(E.title).like(pattern, escape="\\"),
                func.lower(E.key).like(pattern, escape="\\"),
            )
        )
    return conds


async def page(
    ctx: GraphQLContext,
    cols: Sequence[Any],
    conds: Sequence[ColumnElement[bool]],
    order: Sequence[Any],
    *,
    offset: int,
    first: int,
    want_total: bool,
) -> tuple[list[Row[Any]], int | None]:
    """A top-level page: `first + 1` rows at `offset`, and the total when asked for."""
    stmt: Select[Any] = select(*cols)
    if conds:
        stmt = stmt.where(*conds)
    rows = list((await ctx.execute(stmt.order_by(*order).offset(offset).limit(first + 1))).all())
    total: int | None = None
    if want_total:
        if offset == 0 and len(rows) <= first:
            total = len(rows)  # the whole list is on this page: no count needed
        else:
            count: Select[Any] = select(func.count()).select_from(cols[0].table)
            if conds:
                count = count.where(*conds)
            total = int((await ctx.execute(count)).scalar_one())
    return rows, total


def _windowed(
    dialect: str,
    cols: Sequence[Any],
    parent: KeyedColumnElement[Any],
    order: Sequence[Any],
    conds: Sequence[ColumnElement[bool]],
    window: Window,
    select_from: Any = None,
) -> Select[Any]:
    """Each of the `parents`' slice of children plus `gql_parent`, `gql_total`, `gql_rn`
    (1-based position in the window's order: descending for `last`), ordered by parent
    then position."""
    if dialect == "postgresql":
        return _windowed_lateral(cols, parent, order, conds, window, select_from)
    ordering = [o.desc() for o in order] if window.last else list(order)
    inner = select(
        *cols,
        parent.label("gql_parent"),
        func.row_number().over(partition_by=parent, order_by=ordering).label("gql_rn"),
        func.count().over(partition_by=parent).label("gql_total"),
    )
    if select_from is not None:
        inner = inner.select_from(select_from)
    sub = inner.where(one_of(parent, dialect), *conds).subquery()
    rn, total = sub.c.gql_rn, sub.c.gql_total
    if window.last:
        # `last: 0` keeps no row: keep one anyway to carry the parent's total
        keep = rn <= window.limit if window.limit else rn == 1
    else:
        keep = and_(rn > window.offset, rn <= window.offset + window.limit + 1)
        if window.offset:
            # a page past the end keeps no row: keep the last to carry the total
            keep = or_(keep, and_(rn == total, total <= window.offset))
    return select(sub).where(keep).order_by(sub.c.gql_parent, rn)


def is_total_only(row: Any, window: Window) -> bool:
    """Whether a parent's first row only carries its total (its page is empty): the
    windowed statements return one such row rather than none, so `totalCount` is right
    for a page past the end (and for `last: 0`)."""
    rn: int | None = row.gql_rn
    if rn is None:  # PostgreSQL: the LEFT JOIN's row without a page row
        return True
    return rn > window.limit if window.last else rn <= window.offset


def _windowed_lateral(
    cols: Sequence[Any],
    parent: KeyedColumnElement[Any],
    order: Sequence[Any],
    conds: Sequence[ColumnElement[bool]],
    window: Window,
    select_from: Any = None,
) -> Select[Any]:
    """PostgreSQL: the same rows as `_windowed`, from two LATERAL subqueries per parent
    (from `unnest` of the parents array): its page, read in index order and stopped at the
    page's end, and its count — rather than numbering every child of every parent to keep
    a few (the last 12 of 36 measurements of 200 KPIs: half the database time). The rows
    come unordered: `children` puts each parent's rows in order."""
    parents = (
        func.unnest(bindparam("parents", type_=ARRAY(parent.type)))
        .table_valued("parent")
        .render_derived()
    )
    ordering = [o.desc() for o in order] if window.last else list(order)
    mine = parent == parents.c.parent
    page = select(*cols, func.row_number().over(order_by=ordering).label("gql_rn"))
    count = select(func.count().label("gql_total"))
    if select_from is not None:
        page, count = page.select_from(select_from), count.select_from(select_from)
    else:
        count = count.select_from(parent.table)
    page = page.where(mine, *conds).order_by(*ordering)
    if window.last:
        page = page.limit(window.limit)
    else:
        page = page.offset(window.offset).limit(window.limit + 1)
    rows = page.lateral("page")
    total = count.where(mine, *conds).lateral("total")
    # LEFT JOIN: a parent whose page is empty still has a row, carrying its total
    # (`is_total_only`).
    return select(
        *[c for c in rows.c if c.key != "gql_rn"],
        parents.c.parent.label("gql_parent"),
        rows.c.gql_rn,
        total.c.gql_total,
    ).select_from(parents.join(rows, true(), isouter=True).join(total, true()))


async def children(
    ctx: GraphQLContext,
    parents: Sequence[int],
    stmt: Select[Any],
) -> dict[int, list[Row[Any]]]:
    """Run `stmt` for the parents (IN_CHUNK at a time) and group the rows by `gql_parent`,
    each parent's rows by `gql_rn` when the statement numbers them."""
    out: dict[int, list[Row[Any]]] = {}
    unique = list(dict.fromkeys(parents))
    for i in range(0, len(unique), IN_CHUNK):
        rows = await ctx.rows(stmt, {"parents": unique[i : i + IN_CHUNK]})
        if not rows:
            continue
        fields = rows[0]._fields
        at = fields.index("gql_parent")  # by position: cheaper than by name
        for row in rows:
            parent = row[at]
            found = out.get(parent)
            if found is None:
                out[parent] = [row]
            else:
                found.append(row)
    if out and "gql_rn" in fields and ctx.dialect == "postgresql":
        # SQLite's windowed form is ORDER BY'd; PostgreSQL's LATERAL form leaves the sort
        # to here, where it costs one pass over rows that arrive in order anyway.
        position = operator.itemgetter(fields.index("gql_rn"))
        for found in out.values():
            found.sort(key=position)
    return out


@functools.lru_cache(maxsize=256)
def contributions_by_epic(
    dialect: str, window: Window, fields: frozenset[str] | None = None
) -> Select[Any]:
    """Each epic's contributions (creation order); their KPIs are fetched apart, once.
    `fields`: the `Contribution` fields the query shows (None: all)."""
    cols = contribution_columns(fields)
    return _windowed(dialect, cols, C.epic_pk, [C.pk], [], window)


@functools.lru_cache(maxsize=256)
def contributions_by_kpi(dialect: str, window: Window, archived: bool) -> Select[Any]:
    """Each KPI's contributions (creation order) with their epic's columns."""
    conds: list[ColumnElement[bool]] = []
    if not archived:
        conds.append(E.status != "archived")
    return _windowed(
        dialect,
        [*CONTRIB_COLS, *EPIC_COLS],
        C.kpi_pk,
        [C.pk],
        conds,
        window,
        select_from=Contribution.__table__.join(Epic.__table__, E.pk == C.epic_pk),
    )


def measurement_conditions(f: MeasurementFilter) -> list[Any]:
    """The REST filters of `GET /v1/kpis/{slug}/measurements`: periods, segment, and the
    bitemporal `as_of` (the version known then: recorded_at <= T < superseded_at)."""
    conds: list[Any] = []
    if f.as_of is None:
        conds.append(M.superseded_at.is_(None))
    else:
        conds += [
            M.recorded_at <= f.as_of,
            or_(M.superseded_at.is_(None), M.superseded_at > f.as_of),
        ]
    if f.period_from is not None:
        conds.append(M.period >= f.period_from)
    if f.period_to is not None:
        conds.append(M.period <= f.period_to)
    if f.segment is not None:
        conds.append(M.segment == f.segment)
    return conds


@functools.lru_cache(maxsize=256)
def measurements_by_kpi(
    dialect: str,
    f: MeasurementFilter,
    window: Window | None,
    fields: frozenset[str] | None = None,
) -> Select[Any]:
    """Each KPI's measurements by (period, segment); `window` None means all of them.
    `fields`: the `Measurement` fields the query shows (None: all)."""
    conds = measurement_conditions(f)
    cols = measurement_columns(fields)
    if window is None:
        return (
            select(*cols, M.kpi_pk.label("gql_parent"))
            .where(one_of(M.kpi_pk, dialect), *conds)
            .order_by(M.kpi_pk, M.period, M.segment)
        )
    return _windowed(dialect, cols, M.kpi_pk, [M.period, M.segment], conds, window)


@functools.lru_cache(maxsize=256)
def scores_by_epic(dialect: str, window: Window) -> Select[Any]:
    return _windowed(dialect, SCORE_COLS, S.epic_pk, [S.pk], [], window)


@functools.lru_cache(maxsize=256)
def decisions_by_epic(dialect: str, window: Window) -> Select[Any]:
    return _windowed(dialect, DECISION_COLS, D.epic_pk, [D.pk], [], window)


@functools.lru_cache(maxsize=64)
def _by_column(table: str, column: str, dialect: str) -> Select[Any]:
    cols, c = (EPIC_COLS, E) if table == "epics" else (KPI_COLS, K)
    return select(*cols).where(one_of(c[column], dialect))


async def _rows_by(
    ctx: GraphQLContext, table: str, column: Any, values: Sequence[Any]
) -> dict[Any, Row[Any]]:
    stmt = _by_column(table, column.key, ctx.dialect)
    out: dict[Any, Row[Any]] = {}
    unique = list(dict.fromkeys(values))
    for i in range(0, len(unique), IN_CHUNK):
        rows = await ctx.rows(stmt, {"parents": unique[i : i + IN_CHUNK]})
        if rows:
            at = rows[0]._fields.index(column.key)
            for row in rows:
                out[row[at]] = row
    return out


async def epics_by(ctx: GraphQLContext, column: Any, values: Sequence[Any]) -> dict[Any, Row[Any]]:
    """Epics by pk, id or key (a dict keyed by that column's value)."""
    return await _rows_by(ctx, "epics", column, values)


async def kpis_by(ctx: GraphQLContext, column: Any, values: Sequence[Any]) -> dict[Any, Row[Any]]:
    """KPIs by pk or slug (a dict keyed by that column's value)."""
    return await _rows_by(ctx, "kpis", column, values)
