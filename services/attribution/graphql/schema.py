# mypy: disable-error-code="untyped-decorator"
"""The attribution GraphQL schema (for BI tools): rule sets, runs, lines, benefits, facts."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import ColumnElement, and_, func, or_, select

from attribution.benefits import service as benefits_service
from attribution.graphql import store
from attribution.graphql.types import (
    Benefit,
    BenefitFact,
    BenefitLine,
    Ctx,
    Epic,
    Kpi,
    KpiBenefit,
    RuleSet,
    Run,
    line_node,
    ruleset_loader,
    ruleset_node,
    run_node,
)
from ledgerkit.graphql import (
    DEFAULT_FIRST,
    Connection,
    Edge,
    PageInfo,
    check_first,
    connection_from_slice,
    decode_offset,
    ledger_schema,
    require_scope,
)
from ledgerkit.graphql_scalars import Money, Period
from ledgerkit.pagination import encode_cursor
from ledgerkit.settings import CommonSettings

LIST_SIZES = {
    "ruleSets": 50,
    "versions": 10,
    "runs": 50,
    "benefitLines": 50,
    "benefits": 50,
    "benefitFacts": 50,
    "kpis": 10,
    "byStream": 4,
}
MAX_COST = 1_000_000


@strawberry.input(description="Which benefit lines (default: the latest official runs).")
class BenefitLineFilter:
    run: strawberry.ID | None = None
    rule_set: strawberry.ID | None = strawberry.field(
        default=None, description="Latest official run of this rule set (id or name)."
    )
    epic: str | None = strawberry.field(default=None, description="Epic id or key.")
    kpi: str | None = None
    stream: str | None = None
    period: Period | None = None


@strawberry.input(description="Per-epic benefit filters (as `GET /v1/benefits`).")
class BenefitFilter:
    stream: str | None = None
    team: str | None = None
    epic: str | None = strawberry.field(default=None, description="Epic id or key.")
    rule_set: strawberry.ID | None = None
    run: strawberry.ID | None = None


def _want_total(info: Ctx) -> bool:
    for field in info.selected_fields:
        for sel in field.selections:
            if getattr(sel, "name", None) == "totalCount" or not hasattr(sel, "name"):
                return True
    return False


async def _ruleset_id(info: Ctx, ref: str) -> str:
    from attribution.rulesets.service import find_ruleset

    return (await find_ruleset(await info.context.read_session(), ref)).id


async def _run_ids(info: Ctx, run: str | None, rule_set: str | None) -> list[str]:
    if run is not None:
        return [run]
    ruleset_id = await _ruleset_id(info, rule_set) if rule_set else None
    return await store.latest_official_run_ids(info.context, ruleset_id)


async def _offset_page(
    info: Ctx,
    cols: Sequence[Any],
    conds: Sequence[ColumnElement[bool]],
    order: Sequence[Any],
    first: int | None,
    after: str | None,
) -> tuple[list[Any], int, int, int]:
    limit = check_first(DEFAULT_FIRST if first is None else first)
    offset = decode_offset(after)
    stmt = select(*cols)
    if conds:
        stmt = stmt.where(*conds)
    rows = await store.rows(info.context, stmt.order_by(*order).offset(offset).limit(limit + 1))
    total = len(rows) + offset
    if _want_total(info) and (offset > 0 or len(rows) > limit):
        count = select(func.count()).select_from(cols[0].table)
        if conds:
            count = count.where(*conds)
        total = int((await info.context.execute(count)).scalar_one())
    return rows, total, offset, limit


def _fact_cursor(run_id: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"f:{run_id}:{seq}".encode()).decode()


def _decode_fact_cursor(cursor: str | None) -> tuple[str, int] | None:
    if not cursor:
        return None
    try:
        kind, run_id, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        if kind != "f":
            raise ValueError(cursor)
        return run_id, int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise GraphQLError("`after` is not a cursor this field issued.") from exc


@strawberry.type
class Query:
    @strawberry.field(description="Rule sets in creation order.")
    async def rule_sets(
        self, info: Ctx, first: int | None = None, after: str | None = None
    ) -> Connection[RuleSet]:
        require_scope(info, "read")
        rows, total, offset, limit = await _offset_page(
            info, store.RULESET_COLS, [], [store.RS.created_at, store.RS.id], first, after
        )
        nodes = [ruleset_node(r) for r in rows]
        return connection_from_slice(nodes, offset=offset, first=limit, total=total)

    @strawberry.field(description="One rule set by id or name, with its versions.")
    async def rule_set(self, info: Ctx, id: strawberry.ID) -> RuleSet | None:
        require_scope(info, "read")
        found = await ruleset_loader(info.context).load(str(id))
        if found is None:
            rows = await store.rows(
                info.context, select(*store.RULESET_COLS).where(store.RS.name == str(id))
            )
            found = ruleset_node(rows[0]) if rows else None
        return found

    @strawberry.field(description="Runs, newest first.")
    async def runs(
        self,
        info: Ctx,
        rule_set: Annotated[
            strawberry.ID | None, strawberry.argument(description="Rule set id or name.")
        ] = None,
        status: Annotated[
            str | None, strawberry.argument(description="`official` or `preview`.")
        ] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Run]:
        require_scope(info, "read")
        conds: list[ColumnElement[bool]] = []
        if rule_set is not None:
            conds.append(store.R.ruleset_id == await _ruleset_id(info, str(rule_set)))
        if status is not None:
            conds.append(store.R.status == status)
        rows, total, offset, limit = await _offset_page(
            info,
            store.RUN_COLS,
            conds,
            [store.R.created_at.desc(), store.R.id.desc()],
            first,
            after,
        )
        return connection_from_slice(
            [run_node(r) for r in rows], offset=offset, first=limit, total=total
        )

    @strawberry.field(description="One run by id.")
    async def run(self, info: Ctx, id: strawberry.ID) -> Run | None:
        require_scope(info, "read")
        rows = await store.rows(info.context, select(*store.RUN_COLS).where(store.R.id == str(id)))
        return run_node(rows[0]) if rows else None

    @strawberry.field(
        description="Benefit lines of a run (default: the latest official run of each rule "
        "set), in the engine's order; filters as `GET /v1/runs/{id}/lines`."
    )
    async def benefit_lines(
        self,
        info: Ctx,
        filter: BenefitLineFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[BenefitLine]:
        require_scope(info, "read")
        f = filter or BenefitLineFilter()
        L = store.L
        run_ids = await _run_ids(
            info, str(f.run) if f.run else None, str(f.rule_set) if f.rule_set else None
        )
        conds: list[ColumnElement[bool]] = [L.run_id.in_(run_ids)]
        if f.epic is not None:
            conds.append(or_(L.epic_key == f.epic, L.epic_id == f.epic))
        if f.kpi is not None:
            conds.append(L.kpi == f.kpi)
        if f.stream is not None:
            conds.append(L.stream == f.stream)
        if f.period is not None:
            conds.append(L.period == f.period)
        rows, total, offset, limit = await _offset_page(
            info, store.LINE_COLS, conds, [L.run_id, L.seq], first, after
        )
        return connection_from_slice(
            [line_node(r) for r in rows], offset=offset, first=limit, total=total
        )

    @strawberry.field(
        description="Per epic: realized to date, run-rate, payback, from the latest official "
        "run of each rule set (as `GET /v1/benefits`)."
    )
    async def benefits(
        self,
        info: Ctx,
        filter: BenefitFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Benefit]:
        require_scope(info, "read")
        f = filter or BenefitFilter()
        limit = check_first(DEFAULT_FIRST if first is None else first)
        offset = decode_offset(after)
        page = await benefits_service.list_benefits(
            await info.context.read_session(),
            limit + 1,
            encode_cursor(offset) if offset else None,
            stream=f.stream,
            team=f.team,
            epic=f.epic,
            ruleset=str(f.rule_set) if f.rule_set else None,
            run=str(f.run) if f.run else None,
        )
        nodes = [_benefit(b) for b in page.items]
        total = offset + len(nodes) + (1 if page.next_cursor else 0)
        return connection_from_slice(nodes, offset=offset, first=limit, total=total)

    @strawberry.field(
        description="Flat facts for BI: one row per epic × KPI × period of the latest official "
        "run of each rule set (or of `run`), with epic, KPI and rule dimensions."
    )
    async def benefit_facts(
        self,
        info: Ctx,
        period_from: Annotated[Period | None, strawberry.argument(name="from")] = None,
        period_to: Annotated[Period | None, strawberry.argument(name="to")] = None,
        stream: str | None = None,
        rule_set: strawberry.ID | None = None,
        run: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[BenefitFact]:
        require_scope(info, "read")
        ctx = info.context
        limit = check_first(DEFAULT_FIRST if first is None else first)
        L = store.L
        run_ids = await _run_ids(
            info, str(run) if run else None, str(rule_set) if rule_set else None
        )
        conds: list[ColumnElement[bool]] = [L.run_id.in_(run_ids)]
        if period_from is not None:
            conds.append(L.period >= period_from)
        if period_to is not None:
            conds.append(L.period <= period_to)
        if stream is not None:
            conds.append(L.stream == stream)
        position = _decode_fact_cursor(after)
        page_conds = list(conds)
        if position is not None:
            page_conds.append(
                or_(L.run_id > position[0], and_(L.run_id == position[0], L.seq > position[1]))
            )
        rows = await store.rows(
            ctx,
            select(*store.LINE_COLS).where(*page_conds).order_by(L.run_id, L.seq).limit(limit + 1),
        )
        total = len(rows)
        if _want_total(info) and (position is not None or len(rows) > limit):
            count = select(func.count()).select_from(L.run_id.table).where(*conds)
            total = int((await ctx.execute(count)).scalar_one())
        page = rows[:limit]
        runs = (
            {
                r.id: r
                for r in await store.rows(
                    ctx,
                    select(store.R.id, store.R.ruleset_id, store.R.ruleset_version).where(
                        store.R.id.in_({r.run_id for r in page})
                    ),
                )
            }
            if page
            else {}
        )
        epics = await store.run_epics(ctx, list(runs)) if page else {}
        kpis = await store.kpi_dimensions(ctx, sorted({r.kpi for r in page})) if page else {}
        edges = []
        for r in page:
            e = epics.get(f"{r.run_id}:{r.epic_id}", {})
            k = kpis.get(r.kpi)
            run_row = runs[r.run_id]
            fact = BenefitFact(
                run_id=strawberry.ID(r.run_id),
                rule_set=strawberry.ID(run_row.ruleset_id),
                rule_version=run_row.ruleset_version,
                epic_id=strawberry.ID(r.epic_id),
                epic_key=r.epic_key,
                epic_title=e.get("title") or "",
                team=e.get("team"),
                streams=list(e.get("streams") or []),
                stream=r.stream,
                kpi=r.kpi,
                kpi_name=k.name if k else None,
                unit=k.unit if k else None,
                period=Period(r.period),
                uplift=Decimal(r.uplift),
                share=Decimal(r.share),
                benefit=Decimal(r.benefit) if r.benefit is not None else None,
                cumulative=Decimal(r.cumulative) if r.cumulative is not None else None,
                currency=r.currency,
            )
            edges.append(Edge(node=fact, at=_fact_cursor(r.run_id, r.seq)))
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                end_at=edges[-1].cursor_text() if edges else after,
            ),
            total_count=total,
        )


def _m(money: Any) -> Money:
    return Money(amount=money.amount, currency=money.currency)


def _benefit(b: Any) -> Benefit:
    return Benefit(
        epic=b.epic,
        epic_id=strawberry.ID(b.epic_id),
        title=b.title,
        team=b.team,
        streams=list(b.streams),
        ruleset=strawberry.ID(b.ruleset),
        version=b.version,
        run=strawberry.ID(b.run),
        period_from=Period(b.period_from),
        period_to=Period(b.period_to),
        currency=b.currency,
        realized=_m(b.realized),
        run_rate=_m(b.run_rate),
        latest_period=Period(b.latest_period) if b.latest_period else None,
        planned_cost=_m(b.planned_cost) if b.planned_cost else None,
        payback_period=Period(b.payback_period) if b.payback_period else None,
        kpis=[
            KpiBenefit(
                kpi=k.kpi,
                realized=_m(k.realized),
                run_rate=_m(k.run_rate),
                latest_period=Period(k.latest_period) if k.latest_period else None,
            )
            for k in b.kpis
        ],
    )


def build_schema(settings: CommonSettings) -> strawberry.federation.Schema:
    return ledger_schema(
        settings, query=Query, types=[Epic, Kpi], list_sizes=LIST_SIZES, max_cost=MAX_COST
    )
