# mypy: disable-error-code="untyped-decorator"
"""The outcomes GraphQL schema (for BI tools and portals): queries, mutations, federation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from prometheus_client import CollectorRegistry
from sqlalchemy import ColumnElement, Select, func, select

from ledgerkit.graphql import (
    DEFAULT_FIRST,
    Connection,
    Edge,
    GraphQLContext,
    PageInfo,
    check_first,
    connection_from_slice,
    decode_offset,
    ledger_schema,
    node_fields,
    require_scope,
)
from ledgerkit.graphql_cache import AnswerCache
from ledgerkit.settings import CommonSettings
from outcomes.graphql import loaders, store
from outcomes.graphql.mutations import Mutation
from outcomes.graphql.store import EpicFilter
from outcomes.graphql.types import (
    Change,
    Ctx,
    Decision,
    Epic,
    EpicSource,
    EpicStatus,
    Kpi,
    Score,
    Stream,
    change_node,
    decision_node,
    epic_nodes,
    kpi_node,
    score_node,
)

# The cost budget: a field costs 1 × the page sizes above it. A list field's page size is
# its `first`/`last`, else this estimate (nested lists are short: an epic has a few KPIs).
LIST_SIZES = {
    "epics": 50,
    "kpis": 10,
    "contributions": 10,
    "measurements": 50,
    "scores": 20,
    "decisions": 20,
    "changes": 50,
}
MAX_COST = 1_000_000


@strawberry.input(description="Epic list filters (as `GET /v1/epics`), combined with AND.")
class EpicFilterInput:
    stream: Stream | None = None
    status: EpicStatus | None = strawberry.field(
        default=None, description="Only this status (archived included when asked for)."
    )
    kpi: str | None = strawberry.field(default=None, description="KPI slug contributed to.")
    source: EpicSource | None = None
    team: str | None = strawberry.field(default=None, description="Case-insensitive.")
    q: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of title or key."
    )
    include_archived: bool = False

    def to_filter(self) -> EpicFilter:
        return EpicFilter(
            stream=self.stream.value if self.stream else None,
            status=self.status.value if self.status else None,
            kpi=self.kpi,
            source=self.source.value if self.source else None,
            team=self.team,
            q=self.q,
            include_archived=self.include_archived,
        )


@strawberry.input(description="KPI list filters (as `GET /v1/kpis`).")
class KpiFilterInput:
    stream: Stream | None = None
    scorecard_line: str | None = None
    q: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of name or slug."
    )


def _want_total(info: Ctx) -> bool:
    for field in info.selected_fields:
        for sel in field.selections:
            if getattr(sel, "name", None) == "totalCount":
                return True
            if not hasattr(sel, "name"):  # fragments: be safe, count
                return True
    return False


async def _page(
    info: Ctx,
    cols: Sequence[Any],
    conds: Sequence[ColumnElement[bool]],
    order: Sequence[Any],
    first: int | None,
    after: str | None,
) -> tuple[list[Any], int, int, int]:
    limit = check_first(DEFAULT_FIRST if first is None else first)
    offset = decode_offset(after)
    rows, total = await store.page(
        info.context,
        cols,
        conds,
        order,
        offset=offset,
        first=limit,
        want_total=_want_total(info),
    )
    return list(rows), (total if total is not None else -1), offset, limit


@strawberry.type
class Query:
    @strawberry.field(description="Epics in creation order; archived ones only when asked.")
    async def epics(
        self,
        info: Ctx,
        filter: EpicFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Epic]:
        require_scope(info, "read")
        f = filter.to_filter() if filter else EpicFilter()
        cols = store.epic_columns(node_fields(info))
        rows, total, offset, limit = await _page(
            info, cols, store.epic_conditions(f), [store.E.pk], first, after
        )
        nodes = epic_nodes(rows)
        return connection_from_slice(nodes, offset=offset, first=limit, total=total)

    @strawberry.field(description="One epic by its `id` or its `key` (archived ones too).")
    async def epic(self, info: Ctx, ref: str) -> Epic | None:
        require_scope(info, "read")
        ctx = info.context
        by_id = await loaders.epic_by_id(ctx).load(ref)
        return by_id or await loaders.epic_by_key(ctx).load(ref)

    @strawberry.field(description="KPIs in creation order.")
    async def kpis(
        self,
        info: Ctx,
        filter: KpiFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Kpi]:
        require_scope(info, "read")
        conds: list[ColumnElement[bool]] = []
        if filter is not None:
            if filter.stream is not None:
                conds.append(store.K.stream == filter.stream.value)
            if filter.scorecard_line is not None:
                conds.append(store.K.scorecard_line == filter.scorecard_line)
            if filter.q:
                pattern = store._like(filter.q)
                conds.append(
                    func.lower(store.K.name).like(pattern, escape="\\")
                    | func.lower(store.K.slug).like(pattern, escape="\\")
                )
        rows, total, offset, limit = await _page(
            info, store.KPI_COLS, conds, [store.K.pk], first, after
        )
        nodes = [kpi_node(info.context, r) for r in rows]
        return connection_from_slice(nodes, offset=offset, first=limit, total=total)

    @strawberry.field(description="One KPI by slug.")
    async def kpi(self, info: Ctx, slug: str) -> Kpi | None:
        require_scope(info, "read")
        return await loaders.kpi_by_slug(info.context).load(slug)

    @strawberry.field(description="The decision log, oldest first (as `GET /v1/decisions`).")
    async def decisions(
        self,
        info: Ctx,
        epic: Annotated[str | None, strawberry.argument(description="Epic id or key.")] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Decision]:
        require_scope(info, "read")
        conds: list[ColumnElement[bool]] = []
        if epic is not None:
            conds.append(store.D.epic_pk.in_(_epic_pk_by_ref(epic)))
        rows, total, offset, limit = await _page(
            info, store.DECISION_COLS, conds, [store.D.pk], first, after
        )
        nodes = [decision_node(info.context, r) for r in rows]
        return connection_from_slice(nodes, offset=offset, first=limit, total=total)

    @strawberry.field(description="Value-council scores in creation order (as `GET /v1/scores`).")
    async def scores(
        self,
        info: Ctx,
        period: str | None = None,
        epic: Annotated[str | None, strawberry.argument(description="Epic id or key.")] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Score]:
        require_scope(info, "read")
        conds: list[ColumnElement[bool]] = []
        if period is not None:
            conds.append(store.S.period == period)
        if epic is not None:
            conds.append(store.S.epic_pk.in_(_epic_pk_by_ref(epic)))
        rows, total, offset, limit = await _page(
            info, store.SCORE_COLS, conds, [store.S.pk], first, after
        )
        nodes = [score_node(info.context, r) for r in rows]
        return connection_from_slice(nodes, offset=offset, first=limit, total=total)

    @strawberry.field(
        description="The change log by `seq`. Cursors are the `seq` as a string, so "
        '`after: "120"` continues after entry 120 (as `GET /v1/changes?after=120`).'
    )
    async def changes(
        self,
        info: Ctx,
        after: str | None = None,
        first: int | None = None,
        entity: str | None = None,
    ) -> Connection[Change]:
        require_scope(info, "read")
        limit = check_first(DEFAULT_FIRST if first is None else first)
        try:
            after_seq = int(after) if after else 0
        except ValueError as exc:
            raise GraphQLError("`after` is a change `seq` (an integer as a string).") from exc
        conds: list[ColumnElement[bool]] = [store.CH.seq > after_seq]
        if entity is not None:
            conds.append(store.CH.entity == entity)
        ctx = info.context
        rows = (
            await ctx.execute(
                select(*store.CHANGE_COLS).where(*conds).order_by(store.CH.seq).limit(limit + 1)
            )
        ).all()
        total = len(rows)
        if _want_total(info) and len(rows) > limit:
            total = int(
                (
                    await ctx.execute(
                        select(func.count()).select_from(store.CH.seq.table).where(*conds)
                    )
                ).scalar_one()
            )
        edges = [Edge(node=change_node(r), at=str(r.seq)) for r in rows[:limit]]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                end_at=edges[-1].cursor_text() if edges else after,
            ),
            total_count=total,
        )


def _epic_pk_by_ref(ref: str) -> Select[Any]:
    return select(store.E.pk).where((store.E.id == ref) | (store.E.key == ref))


async def data_version(ctx: GraphQLContext) -> int:
    """The head of the change log (the answer cache's data version). Every write through
    the API — REST, GraphQL, webhooks — appends to it in the same transaction as the data,
    so an unchanged head means unchanged data. (A cluster-wide signal such as PostgreSQL's
    snapshot would also catch writes that bypass the API, but any write to any database
    of the cluster changes it, so answers would rarely be reused on a busy server.)"""
    head = (await ctx.execute(select(func.max(store.CH.seq)))).scalar_one()
    return int(head or 0)


def answer_cache(settings: CommonSettings, registry: CollectorRegistry) -> AnswerCache | None:
    if settings.graphql_answer_cache_mb <= 0:
        return None
    return AnswerCache(
        data_version,
        max_bytes=settings.graphql_answer_cache_mb * 1024 * 1024,
        registry=registry,
        service="outcomes",
    )


def build_schema(settings: CommonSettings) -> strawberry.federation.Schema:
    return ledger_schema(
        settings, query=Query, mutation=Mutation, list_sizes=LIST_SIZES, max_cost=MAX_COST
    )
