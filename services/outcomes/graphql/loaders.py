"""Per-request DataLoaders: every nested list of a level is fetched in ONE statement.

A loader key is `(parent pk, params)`; a batch groups its keys by `params` (the filters and
the page window, equal for every parent reached through the same field in a query) and runs
one windowed statement per group. Results are cached for the request, so a KPI reached from
200 epics has its measurements fetched and built once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Row, Select
from strawberry.dataloader import DataLoader

from ledgerkit.graphql import Connection, GraphQLContext, connection_from_slice
from outcomes.graphql import store
from outcomes.graphql import types as t
from outcomes.graphql.store import MeasurementFilter, Window

N = TypeVar("N")
P = TypeVar("P", bound=Hashable)
Key = tuple[int, Any]


def page_slice(fetched: list[N], total: int, window: Window) -> tuple[list[N], int, int]:
    """A parent's fetched children as a page is made from them: (items in page order,
    offset of the first, `first`). `last` windows are fetched newest first."""
    if window.last:
        return fetched[::-1], total - len(fetched), len(fetched)
    return fetched, window.offset, window.limit


def to_connection(nodes: list[N], total: int, window: Window) -> Connection[N]:
    items, offset, first = page_slice(nodes, total, window)
    return connection_from_slice(items, offset=offset, first=first, total=total)


def _by_params(keys: list[Key]) -> dict[Any, list[int]]:
    groups: dict[Any, list[int]] = defaultdict(list)
    for parent, params in keys:
        groups[params].append(parent)
    return groups


Prepare = Callable[[GraphQLContext, list[Row[Any]], Any], Awaitable[None]]


async def _load_pages(
    ctx: GraphQLContext,
    build: Callable[[str, Any], Select[Any]],
    prepare: Prepare | None,
    keys: list[Key],
) -> dict[Key, tuple[list[Row[Any]], int]]:
    """Each key's page of rows (in order) and its parent's total: one windowed statement
    per distinct params. `prepare(ctx, rows, params)` sees a statement's rows first (to
    fetch what they share in one more statement)."""
    out: dict[Key, tuple[list[Row[Any]], int]] = {}
    for params, parents in _by_params(keys).items():
        window: Window = params[0]
        by_parent = await store.children(ctx, parents, build(ctx.dialect, params))
        totals: dict[int, int] = {}
        for parent, rows in by_parent.items():
            totals[parent] = rows[0].gql_total
            if store.is_total_only(rows[0], window):
                rows.clear()
        if prepare is not None:
            await prepare(ctx, [r for rows in by_parent.values() for r in rows], params)
        for parent in parents:
            out[(parent, params)] = (by_parent.get(parent, []), totals.get(parent, 0))
    return out


def _windowed_loader(
    ctx: GraphQLContext,
    build: Callable[[str, Any], Select[Any]],
    make_nodes: Callable[[GraphQLContext, list[Row[Any]]], list[Any]],
    prepare: Prepare | None = None,
) -> DataLoader[Key, Connection[Any]]:
    """Keys `(parent pk, (window, *filters))` → that parent's page as a connection."""

    async def batch(keys: list[Key]) -> list[Connection[Any]]:
        pages = await _load_pages(ctx, build, prepare, keys)
        # All nodes of the batch made in one call (one column lookup), then dealt out to
        # their pages in the same order.
        made = iter(make_nodes(ctx, [r for rows, _ in pages.values() for r in rows]))
        connections = {
            key: to_connection([next(made) for _ in rows], total, key[1][0])
            for key, (rows, total) in pages.items()
        }
        return [connections[k] for k in keys]

    return DataLoader(load_fn=batch)


def _rows_loader(
    ctx: GraphQLContext,
    name: str,
    build: Callable[[str, Any], Select[Any]],
    prepare: Prepare | None = None,
) -> DataLoader[Key, tuple[list[Row[Any]], int]]:
    """A windowed loader's pages as rows and totals, for answers printed straight from
    rows (`ledgerkit.graphql_leaf`)."""

    async def batch(keys: list[Key]) -> list[tuple[list[Row[Any]], int]]:
        pages = await _load_pages(ctx, build, prepare, keys)
        return [pages[k] for k in keys]

    return ctx.loader(name, lambda: DataLoader(load_fn=batch))


async def _kpis_of(ctx: GraphQLContext, rows: list[Row[Any]], params: Any = None) -> None:
    """The KPIs of a batch of contributions, each fetched and built once per request (200
    KPI rows rather than their columns repeated on 1,000 contribution rows)."""
    cache = t.kpi_cache(ctx)
    at = store.CONTRIB_KPI_PK
    missing = {r[at] for r in rows} - cache.keys()
    if missing:
        t.kpi_nodes(ctx, list((await store.kpis_by(ctx, store.K.pk, sorted(missing))).values()))


def contributions_of_epic(ctx: GraphQLContext) -> DataLoader[Key, Connection[t.Contribution]]:
    """`(epic pk, (window,))` or `(epic pk, (window, fields))`: `fields`, the
    `Contribution` fields the query shows, lets the statement skip the other columns
    (their values are then None)."""
    return ctx.loader(
        "contributions_of_epic",
        lambda: _windowed_loader(
            ctx,
            _contributions_statement,
            t.contributions_with_kpi,
            _kpis_of,
        ),
    )


def contributions_of_kpi(ctx: GraphQLContext) -> DataLoader[Key, Connection[t.Contribution]]:
    return ctx.loader(
        "contributions_of_kpi",
        lambda: _windowed_loader(
            ctx,
            lambda dialect, params: store.contributions_by_kpi(dialect, params[0], params[1]),
            t.contributions_with_epic,
        ),
    )


def measurements_of_kpi(ctx: GraphQLContext) -> DataLoader[Key, Connection[t.Measurement]]:
    """`(kpi pk, (window, MeasurementFilter[, fields]))`: one windowed statement per
    distinct (window, filter) — e.g. each KPI's last 12 for every KPI of the page at once;
    `fields` as in `contributions_of_epic`."""
    return ctx.loader(
        "measurements_of_kpi",
        lambda: _windowed_loader(ctx, _measurements_statement, t.measurement_nodes),
    )


def _contributions_statement(dialect: str, params: Any) -> Select[Any]:
    return store.contributions_by_epic(dialect, *params)


def _measurements_statement(dialect: str, params: Any) -> Select[Any]:
    return store.measurements_by_kpi(dialect, params[1], params[0], *params[2:])


def measurement_rows_of_kpi(ctx: GraphQLContext) -> DataLoader[Key, tuple[list[Row[Any]], int]]:
    """`measurements_of_kpi`'s pages as rows and totals."""
    return _rows_loader(ctx, "measurement_rows_of_kpi", _measurements_statement)


def contribution_rows_of_epic(ctx: GraphQLContext) -> DataLoader[Key, tuple[list[Row[Any]], int]]:
    """`contributions_of_epic`'s pages as rows and totals; their KPIs are in the request's
    KPI cache (`types.kpi_cache`) once loaded."""

    async def kpis_if_shown(ctx: GraphQLContext, rows: list[Row[Any]], params: Any) -> None:
        fields = params[1] if len(params) > 1 else None
        if fields is None or "kpi" in fields:
            await _kpis_of(ctx, rows)

    return _rows_loader(ctx, "contribution_rows_of_epic", _contributions_statement, kpis_if_shown)


def all_measurements_of_kpi(
    ctx: GraphQLContext,
) -> DataLoader[tuple[int, MeasurementFilter], list[t.Measurement]]:
    """Every measurement of each KPI matching a filter (for `Epic.measurements`)."""

    async def batch(keys: list[tuple[int, MeasurementFilter]]) -> list[list[t.Measurement]]:
        groups: dict[MeasurementFilter, list[int]] = defaultdict(list)
        for kpi_pk, f in keys:
            groups[f].append(kpi_pk)
        results: dict[tuple[int, MeasurementFilter], list[t.Measurement]] = {}
        for f, pks in groups.items():
            by_kpi = await store.children(ctx, pks, store.measurements_by_kpi(ctx.dialect, f, None))
            for pk in pks:
                results[(pk, f)] = t.measurement_nodes(ctx, by_kpi.get(pk, []))
        return [results[k] for k in keys]

    return ctx.loader("all_measurements_of_kpi", lambda: DataLoader(load_fn=batch))


def scores_of_epic(ctx: GraphQLContext) -> DataLoader[Key, Connection[t.Score]]:
    return ctx.loader(
        "scores_of_epic",
        lambda: _windowed_loader(
            ctx, lambda dialect, params: store.scores_by_epic(dialect, params[0]), t.score_nodes
        ),
    )


def decisions_of_epic(ctx: GraphQLContext) -> DataLoader[Key, Connection[t.Decision]]:
    return ctx.loader(
        "decisions_of_epic",
        lambda: _windowed_loader(
            ctx,
            lambda dialect, params: store.decisions_by_epic(dialect, params[0]),
            t.decision_nodes,
        ),
    )


def _by_column_loader(
    ctx: GraphQLContext,
    name: str,
    fetch: Callable[..., Any],
    column: Any,
    make_nodes: Callable[[GraphQLContext, list[Row[Any]]], list[Any]],
) -> DataLoader[Any, Any]:
    async def batch(keys: list[Any]) -> list[Any]:
        rows = await fetch(ctx, column, keys)
        found = list(rows)
        nodes = dict(zip(found, make_nodes(ctx, [rows[k] for k in found]), strict=True))
        return [nodes.get(k) for k in keys]

    return ctx.loader(name, lambda: DataLoader(load_fn=batch))


def _epic_nodes(ctx: GraphQLContext, rows: list[Row[Any]]) -> list[t.Epic]:
    return t.epic_nodes(rows)  # one column lookup for the batch


def _kpi_nodes(ctx: GraphQLContext, rows: list[Row[Any]]) -> list[t.Kpi]:
    return t.kpi_nodes(ctx, rows)  # cached per request by pk


def epic_by_pk(ctx: GraphQLContext) -> DataLoader[int, t.Epic | None]:
    return _by_column_loader(ctx, "epic_by_pk", store.epics_by, store.E.pk, _epic_nodes)


def epic_by_id(ctx: GraphQLContext) -> DataLoader[str, t.Epic | None]:
    return _by_column_loader(ctx, "epic_by_id", store.epics_by, store.E.id, _epic_nodes)


def epic_by_key(ctx: GraphQLContext) -> DataLoader[str, t.Epic | None]:
    return _by_column_loader(ctx, "epic_by_key", store.epics_by, store.E.key, _epic_nodes)


def kpi_by_pk(ctx: GraphQLContext) -> DataLoader[int, t.Kpi | None]:
    return _by_column_loader(ctx, "kpi_by_pk", store.kpis_by, store.K.pk, _kpi_nodes)


def kpi_by_slug(ctx: GraphQLContext) -> DataLoader[str, t.Kpi | None]:
    return _by_column_loader(ctx, "kpi_by_slug", store.kpis_by, store.K.slug, _kpi_nodes)
