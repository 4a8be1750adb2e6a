# mypy: disable-error-code="untyped-decorator"
"""GraphQL types of the outcomes service, built straight from database rows.

Nested lists are Relay connections resolved through the request's DataLoaders
(`outcomes.graphql.loaders`), so a query costs a fixed number of statements whatever the
number of rows. Values mirror the REST read shapes: KPI values and money are decimal
strings, times are UTC with `Z`.
"""

from __future__ import annotations

import enum
import functools
import operator
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, cast

import strawberry
from graphql import GraphQLError
from sqlalchemy import Row
from strawberry.scalars import JSON
from strawberry.types import Info

from ledgerkit.graphql import (
    DEFAULT_FIRST,
    MAX_FIRST,
    Connection,
    GraphQLContext,
    check_first,
    decode_offset,
    node_fields,
)
from ledgerkit.graphql_leaf import LeafConnection, NodeColumn
from ledgerkit.graphql_many import Completed, load_all, many
from ledgerkit.graphql_scalars import DecimalText, Money, Period
from ledgerkit.money import decimal_str
from outcomes.graphql import loaders, store
from outcomes.graphql.store import MeasurementFilter, Window

Ctx = Info[GraphQLContext, None]
PeriodArg = Annotated[
    Period | None, strawberry.argument(name="from", description="First period (inclusive).")
]


@strawberry.enum(description="Value streams (REST spelling).")
class Stream(enum.Enum):
    Revenue = "Revenue"
    Cost = "Cost"
    Risk = "Risk"
    CX = "CX"


@strawberry.enum(description="Epic lifecycle status.")
class EpicStatus(enum.Enum):
    proposed = "proposed"
    active = "active"
    paused = "paused"
    done = "done"
    cut = "cut"
    archived = "archived"


@strawberry.enum(description="Where the epic came from.")
class EpicSource(enum.Enum):
    manual = "manual"
    jira = "jira"
    ado = "ado"


@functools.lru_cache(maxsize=1024)
def window_of(first: int | None, after: str | None, last: int | None = None) -> Window:
    """Relay arguments → the rows to fetch: `first`/`after` (default first 50, ≤ 500) or
    the `last` n (≤ 500)."""
    if last is not None:
        if first is not None or after is not None:
            raise GraphQLError("Use either `first`/`after` or `last`, not both.")
        if last < 0 or last > MAX_FIRST:
            raise GraphQLError(f"`last` must be between 0 and {MAX_FIRST}; got {last}.")
        return Window(limit=last, last=True)
    return Window(
        offset=decode_offset(after), limit=check_first(DEFAULT_FIRST if first is None else first)
    )


def _dec(value: Decimal | None) -> DecimalText | None:
    """A KPI value as REST prints it: no exponent, no trailing zeros ("2.1", "10")."""
    return None if value is None else _decimal_text(value)


_ZERO = DecimalText("0")
# `decimal_str` typed as giving the scalar's NewType without a call per value.
_decimal_text = cast(Callable[[Decimal], DecimalText], decimal_str)


def _req(info: Ctx) -> GraphQLContext:
    return info.context


# ---- value objects ---------------------------------------------------------------------


@strawberry.type
class ProofPlan:
    days: int
    stop_if: str | None
    scale_if: str | None


@strawberry.type(description="Why this epic should move a KPI, for whom, how to prove it.")
class Hypothesis:
    statement: str | None
    for_whom: str | None
    economic_logic: str | None
    assumptions: list[str]
    risks: list[str]
    leading_indicators: list[str]
    lagging_indicators: list[str]
    proof_plan: ProofPlan | None

    @staticmethod
    def of(data: dict[str, Any] | None) -> Hypothesis | None:
        if not data:
            return None
        plan = data.get("proof_plan")
        return Hypothesis(
            statement=data.get("statement"),
            for_whom=data.get("for_whom"),
            economic_logic=data.get("economic_logic"),
            assumptions=list(data.get("assumptions") or []),
            risks=list(data.get("risks") or []),
            leading_indicators=list(data.get("leading_indicators") or []),
            lagging_indicators=list(data.get("lagging_indicators") or []),
            proof_plan=ProofPlan(
                days=int(plan.get("days", 90)),
                stop_if=plan.get("stop_if"),
                scale_if=plan.get("scale_if"),
            )
            if isinstance(plan, dict)
            else None,
        )


@strawberry.type(description="The finance-agreed baseline of a KPI.")
class Baseline:
    value: DecimalText
    as_of: date
    source: str | None
    agreed_by: str | None
    agreed_at: datetime | None


@strawberry.type
class Target:
    value: DecimalText
    due: date | None


@strawberry.type(description="The money one unit of KPI improvement is worth, per year/month.")
class ValuePerUnit:
    amount: DecimalText
    currency: str
    per: str


# ---- level-at-once forms of the list resolvers (`ledgerkit.graphql_many`) ------------
# Each does what its resolver does for one object, for every object of a level at once,
# through the same loader (so the plain resolvers, used on graphql-core's path, agree).


def _contributions_pages(
    epics: list[Epic], info: Ctx, first: int | None, after: str | None, fields: Any
) -> Any:
    window = window_of(first, after)
    loader = loaders.contributions_of_epic(info.context)
    return load_all(loader, [(e.pk, (window, fields)) for e in epics])


def _epic_contributions_many(
    epics: list[Epic], info: Ctx, first: int | None = None, after: str | None = None
) -> Any:
    fields = node_fields(info)
    selected = info.selected_fields
    ctx = info.context
    leaf = None
    if len(selected) == 1:
        kpis = kpi_cache(ctx)
        at = store.CONTRIB_KPI_PK
        leaf = LeafConnection.of(
            selected[0], _CONTRIBUTION_COLUMNS, {"kpi": lambda row: kpis[row[at]]}
        )
    if leaf is None:
        return _contributions_pages(epics, info, first, after, fields)
    window = window_of(first, after)
    keys = [(e.pk, (window, fields)) for e in epics]
    return _print_pages(leaf, load_all(loaders.contribution_rows_of_epic(ctx), keys), window)


# `Contribution` fields printed straight from a contribution row (`store.CONTRIB_COLS`).
_CONTRIBUTION_COLUMNS: dict[str, NodeColumn] = {
    "expectedUplift": (store.CONTRIB_AT["c_expected_uplift"], decimal_str),
    "claimedShare": (store.CONTRIB_AT["c_claimed_share"], decimal_str),
    "version": (store.CONTRIB_AT["c_version"], None),
}


async def _epic_kpis_many(
    epics: list[Epic], info: Ctx, first: int | None = None, after: str | None = None
) -> list[Connection[Kpi]]:
    # Only the links' KPI keys are needed: no other contribution column is read.
    pages = await _contributions_pages(epics, info, first, after, frozenset())
    return [_map_connection(page, _KPI_OF) for page in pages]


def _epic_scores_many(
    epics: list[Epic], info: Ctx, first: int | None = None, after: str | None = None
) -> Any:
    window = window_of(first, after)
    return load_all(loaders.scores_of_epic(info.context), [(e.pk, (window,)) for e in epics])


def _epic_decisions_many(
    epics: list[Epic],
    info: Ctx,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
) -> Any:
    window = window_of(first, after, last)
    return load_all(loaders.decisions_of_epic(info.context), [(e.pk, (window,)) for e in epics])


def _kpi_measurements_many(
    kpis: list[Kpi],
    info: Ctx,
    period_from: Period | None = None,
    period_to: Period | None = None,
    segment: str | None = None,
    as_of: datetime | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
) -> Any:
    window = window_of(first, after, last)
    params = (
        window,
        MeasurementFilter(period_from, period_to, segment, as_of),
        node_fields(info),
    )
    keys = [(k.pk, params) for k in kpis]
    selected = info.selected_fields
    leaf = LeafConnection.of(selected[0], _MEASUREMENT_COLUMNS) if len(selected) == 1 else None
    if leaf is None:
        return load_all(loaders.measurements_of_kpi(info.context), keys)
    return _print_pages(leaf, load_all(loaders.measurement_rows_of_kpi(info.context), keys), window)


# `Measurement` fields printed straight from a measurement row (`store.MEAS_COLS`).
_MEASUREMENT_COLUMNS: dict[str, NodeColumn] = {
    "period": (store.MEAS_AT["period"], None),
    "segment": (store.MEAS_AT["segment"], None),
    "value": (store.MEAS_AT["value"], decimal_str),
    "source": (store.MEAS_AT["source"], None),
    "version": (store.MEAS_AT["version"], None),
}


async def _print_pages(
    leaf: LeafConnection, pages: Awaitable[list[tuple[list[Any], int]]], window: Window
) -> Completed:
    """Connections' answers printed from their pages' rows, as `loaders.to_connection`
    would make them."""
    out = Completed()
    for rows, total in await pages:
        items, offset, first = loaders.page_slice(rows, total, window)
        out.append(leaf.print(items, total, offset=offset, first=first, holes=out.holes))
    return out


# ---- entities --------------------------------------------------------------------------


@strawberry.federation.type(keys=["id"], description="A funded piece of work.")
class Epic:
    pk: strawberry.Private[int]
    hypothesis_data: strawberry.Private[dict[str, Any] | None]
    id: strawberry.ID
    key: str
    title: str
    streams: list[Stream]
    status: EpicStatus
    source: EpicSource
    source_id: str | None
    owner: str | None
    team: str | None
    planned_cost: Money | None
    start_date: date | None
    target_date: date | None
    change_type: str | None
    sponsor: str | None
    labels: list[str]
    warnings: list[JSON]
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    @strawberry.field
    def hypothesis(self) -> Hypothesis | None:
        return Hypothesis.of(self.hypothesis_data)

    @strawberry.field(description="The KPIs this epic contributes to (contribution order).")
    @many(_epic_kpis_many)
    async def kpis(
        self, info: Ctx, first: int | None = None, after: str | None = None
    ) -> Connection[Kpi]:
        window = window_of(first, after)
        page = await loaders.contributions_of_epic(info.context).load((self.pk, (window,)))
        return _map_connection(page, _KPI_OF)

    @strawberry.field(description="The epic's KPI links: expected uplift, claimed share.")
    @many(_epic_contributions_many)
    async def contributions(
        self, info: Ctx, first: int | None = None, after: str | None = None
    ) -> Connection[Contribution]:
        window = window_of(first, after)
        return await loaders.contributions_of_epic(info.context).load((self.pk, (window,)))

    @strawberry.field(
        description="Measurements of every KPI the epic contributes to, by KPI (contribution "
        "order), period, segment. Same filters as the REST measurements list."
    )
    async def measurements(
        self,
        info: Ctx,
        period_from: PeriodArg = None,
        period_to: Annotated[
            Period | None, strawberry.argument(name="to", description="Last period.")
        ] = None,
        segment: str | None = None,
        as_of: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Measurement]:
        window = window_of(first, after)
        ctx = info.context
        links = await loaders.contributions_of_epic(ctx).load((self.pk, (Window(limit=MAX_FIRST),)))
        f = MeasurementFilter(period_from, period_to, segment, as_of)
        loader = loaders.all_measurements_of_kpi(ctx)
        lists = await loader.load_many([(e.node.kpi_pk, f) for e in links.edges])
        rows = [m for ms in lists for m in ms]
        page = rows[window.offset : window.offset + window.limit + 1]
        return loaders.to_connection(page, len(rows), window)

    @strawberry.field(description="Value-council scores of this epic (creation order).")
    @many(_epic_scores_many)
    async def scores(
        self, info: Ctx, first: int | None = None, after: str | None = None
    ) -> Connection[Score]:
        window = window_of(first, after)
        return await loaders.scores_of_epic(info.context).load((self.pk, (window,)))

    @strawberry.field(description="The epic's decision log (oldest first; `last: 1` = latest).")
    @many(_epic_decisions_many)
    async def decisions(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
    ) -> Connection[Decision]:
        window = window_of(first, after, last)
        return await loaders.decisions_of_epic(info.context).load((self.pk, (window,)))

    @strawberry.field(description="The most recent decision, if any.")
    async def latest_decision(self, info: Ctx) -> Decision | None:
        page = await loaders.decisions_of_epic(info.context).load(
            (self.pk, (Window(limit=1, last=True),))
        )
        return page.edges[-1].node if page.edges else None

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Epic | None:
        return await loaders.epic_by_id(info.context).load(str(id))


@strawberry.federation.type(keys=["slug"], description="A key performance indicator.")
class Kpi:
    pk: strawberry.Private[int]
    slug: str
    name: str
    stream: Stream | None
    unit: str
    direction: str
    cadence: str
    baseline: Baseline | None
    target: Target | None
    value_per_unit: ValuePerUnit | None
    owners: list[str]
    scorecard_line: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Epics contributing to this KPI (contribution order).")
    async def epics(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Epic]:
        page = await self._contributions(info, first, after, include_archived)
        return _map_connection(page, lambda c: c.epic_node)

    @strawberry.field(description="This KPI's links to epics.")
    async def contributions(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Contribution]:
        return await self._contributions(info, first, after, include_archived)

    async def _contributions(
        self, info: Ctx, first: int | None, after: str | None, archived: bool
    ) -> Connection[Contribution]:
        window = window_of(first, after)
        return await loaders.contributions_of_kpi(info.context).load((self.pk, (window, archived)))

    @strawberry.field(
        description="Values by period then segment, as known at `asOf` (default: now). "
        "`last: 12` gives the 12 most recent (per KPI, fetched once for every KPI of the "
        "query). Filters as `GET /v1/kpis/{slug}/measurements`."
    )
    @many(_kpi_measurements_many)
    async def measurements(
        self,
        info: Ctx,
        period_from: PeriodArg = None,
        period_to: Annotated[
            Period | None, strawberry.argument(name="to", description="Last period.")
        ] = None,
        segment: str | None = None,
        as_of: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
    ) -> Connection[Measurement]:
        window = window_of(first, after, last)
        f = MeasurementFilter(period_from, period_to, segment, as_of)
        return await loaders.measurements_of_kpi(info.context).load((self.pk, (window, f)))

    @strawberry.field(description="The most recent value of a segment (default `all`).")
    async def latest_measurement(
        self, info: Ctx, segment: str = "all", as_of: datetime | None = None
    ) -> Measurement | None:
        f = MeasurementFilter(None, None, segment, as_of)
        page = await loaders.measurements_of_kpi(info.context).load(
            (self.pk, (Window(limit=1, last=True), f))
        )
        return page.edges[-1].node if page.edges else None

    @classmethod
    async def resolve_reference(cls, info: Ctx, slug: str) -> Kpi | None:
        return await loaders.kpi_by_slug(info.context).load(slug)


@strawberry.type(description="An epic ↔ KPI link.")
class Contribution:
    epic_pk: strawberry.Private[int]
    kpi_pk: strawberry.Private[int]
    kpi_node: strawberry.Private[Kpi | None]
    epic_node: strawberry.Private[Epic | None]
    expected_uplift: DecimalText | None
    expected_by: date | None
    claimed_share: DecimalText | None
    version: int
    created_at: datetime
    updated_at: datetime

    # Sync resolvers: the node usually came with the row; otherwise the loader's future is
    # returned (awaited by the executor) — no coroutine per contribution.
    @strawberry.field
    def epic(self, info: Ctx) -> Epic:
        if self.epic_node is not None:
            return self.epic_node
        return cast(Epic, loaders.epic_by_pk(info.context).load(self.epic_pk))

    @strawberry.field
    def kpi(self, info: Ctx) -> Kpi:
        if self.kpi_node is not None:
            return self.kpi_node
        return cast(Kpi, loaders.kpi_by_pk(info.context).load(self.kpi_pk))


@strawberry.type(description="A KPI value for a period and segment (one version of it).")
class Measurement:
    kpi_pk: strawberry.Private[int]
    period: Period
    segment: str
    value: DecimalText
    source: str | None
    version: int
    recorded_at: datetime

    @strawberry.field(description="The measured KPI.")
    def kpi(self, info: Ctx) -> Kpi:
        return cast(Kpi, loaders.kpi_by_pk(info.context).load(self.kpi_pk))


@strawberry.type(description="A value-council score (1–5 each).")
class Score:
    epic_pk: strawberry.Private[int]
    id: strawberry.ID
    period: str
    outcome_potential: int
    time_to_value: int
    risk: int
    total: int
    scored_by: str | None
    note: str | None
    created_at: datetime

    @strawberry.field
    def epic(self, info: Ctx) -> Epic:
        return cast(Epic, loaders.epic_by_pk(info.context).load(self.epic_pk))


@strawberry.type(description="A portfolio decision (the log is append-only).")
class Decision:
    epic_pk: strawberry.Private[int]
    id: strawberry.ID
    decided_on: date
    decision: str
    grade: str | None
    rationale: str | None
    decided_by: str | None
    created_at: datetime

    @strawberry.field
    def epic(self, info: Ctx) -> Epic:
        return cast(Epic, loaders.epic_by_pk(info.context).load(self.epic_pk))


@strawberry.type(description="A change-log entry (`data` is the entity's REST read shape).")
class Change:
    seq: int
    at: datetime
    actor: str
    entity: str
    entity_id: str
    action: str
    data: JSON
    hash: str
    prev_hash: str


# ---- builders (rows → types) -----------------------------------------------------------


_KPI_OF = operator.attrgetter("kpi_node")


def _map_connection(page: Connection[Any], fn: Any) -> Connection[Any]:
    from ledgerkit.graphql import Edge

    return Connection(
        edges=[Edge(node=fn(e.node), at=e.at) for e in page.edges],
        page_info=page.page_info,
        total_count=page.total_count,
    )


def _columns(rows: Sequence[Any], names: tuple[str, ...]) -> Iterable[tuple[Any, ...]]:
    """The `names` values of each row, in that order. SQLAlchemy rows are read by position
    (one C call per row; reading a Row's attributes costs ~0.25 µs each); other objects
    (ORM entities) by attribute."""
    if not rows:
        return ()
    fields = getattr(rows[0], "_fields", None)
    if fields is None:
        return (tuple(getattr(r, n) for n in names) for r in rows)
    get = operator.itemgetter(*[fields.index(n) for n in names])
    return map(get, rows)


_EPIC_NAMES = (
    "pk",
    "hypothesis",
    "id",
    "key",
    "title",
    "streams",
    "status",
    "source",
    "source_id",
    "owner",
    "team",
    "planned_cost_amount",
    "planned_cost_currency",
    "start_date",
    "target_date",
    "change_type",
    "sponsor",
    "labels",
    "warnings",
    "version",
    "created_at",
    "updated_at",
    "archived_at",
)


def epic_nodes(rows: Sequence[Any]) -> list[Epic]:
    """`Epic`s from rows (or ORM `Epic`s: same attribute names)."""
    return [
        Epic(
            pk=pk,
            hypothesis_data=hypothesis,
            id=strawberry.ID(id_),
            key=key,
            title=title,
            streams=list(streams or ()),
            status=status,
            source=source,
            source_id=source_id,
            owner=owner,
            team=team,
            planned_cost=Money.of(amount, currency),
            start_date=start_date,
            target_date=target_date,
            change_type=change_type,
            sponsor=sponsor,
            labels=list(labels or ()),
            warnings=list(warnings or ()),
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            archived_at=archived_at,
        )
        for (
            pk,
            hypothesis,
            id_,
            key,
            title,
            streams,
            status,
            source,
            source_id,
            owner,
            team,
            amount,
            currency,
            start_date,
            target_date,
            change_type,
            sponsor,
            labels,
            warnings,
            version,
            created_at,
            updated_at,
            archived_at,
        ) in _columns(rows, _EPIC_NAMES)
    ]


def epic_node(ctx: GraphQLContext | None, r: Any) -> Epic:
    """An `Epic` from a row (or an ORM `Epic`)."""
    return epic_nodes([r])[0]


_KPI_NAMES = (
    "pk",
    "slug",
    "name",
    "stream",
    "unit",
    "direction",
    "cadence",
    "baseline_value",
    "baseline_as_of",
    "baseline_source",
    "baseline_agreed_by",
    "baseline_agreed_at",
    "target_value",
    "target_due",
    "value_per_unit_amount",
    "value_per_unit_currency",
    "value_per_unit_per",
    "owners",
    "scorecard_line",
    "version",
    "created_at",
    "updated_at",
)


def _kpis_from(rows: Sequence[Any]) -> list[Kpi]:
    """`Kpi`s from rows (or ORM `Kpi`s), read by position (`_columns`)."""
    out: list[Kpi] = []
    for (
        pk,
        slug,
        name,
        stream,
        unit,
        direction,
        cadence,
        baseline_value,
        baseline_as_of,
        baseline_source,
        baseline_agreed_by,
        baseline_agreed_at,
        target_value,
        target_due,
        vpu_amount,
        vpu_currency,
        vpu_per,
        owners,
        scorecard_line,
        version,
        created_at,
        updated_at,
    ) in _columns(rows, _KPI_NAMES):
        baseline = None
        if baseline_value is not None and baseline_as_of is not None:
            baseline = Baseline(
                value=_dec(baseline_value) or _ZERO,
                as_of=baseline_as_of,
                source=baseline_source,
                agreed_by=baseline_agreed_by,
                agreed_at=baseline_agreed_at or updated_at,
            )
        target = (
            Target(value=_dec(target_value) or _ZERO, due=target_due)
            if target_value is not None
            else None
        )
        vpu = (
            ValuePerUnit(
                amount=_dec(vpu_amount) or _ZERO,
                currency=vpu_currency or "USD",
                per=vpu_per or "year",
            )
            if vpu_amount is not None
            else None
        )
        out.append(
            Kpi(
                pk=pk,
                slug=slug,
                name=name,
                stream=stream,
                unit=unit,
                direction=direction,
                cadence=cadence,
                baseline=baseline,
                target=target,
                value_per_unit=vpu,
                owners=list(owners or []),
                scorecard_line=scorecard_line,
                version=version,
                created_at=created_at,
                updated_at=updated_at,
            )
        )
    return out


def _kpi_from(r: Any) -> Kpi:
    return _kpis_from([r])[0]


def kpi_cache(ctx: GraphQLContext) -> dict[int, Kpi]:
    """The request's `Kpi` objects by pk."""
    cache: dict[int, Kpi] = ctx.loader("kpi_nodes", dict)
    return cache


def kpi_node(ctx: GraphQLContext | None, r: Any) -> Kpi:
    """One `Kpi` object per KPI per request, however many epics reach it."""
    if ctx is None:
        return _kpi_from(r)
    return kpi_nodes(ctx, [r])[0]


def kpi_nodes(ctx: GraphQLContext, rows: Sequence[Any]) -> list[Kpi]:
    """`kpi_node` for a batch of rows: the ones not built yet in this request are built
    in one call."""
    cache = kpi_cache(ctx)
    new = [r for r in rows if r.pk not in cache]
    if new:
        for node in _kpis_from(new):
            cache.setdefault(node.pk, node)
    return [cache[r.pk] for r in rows]


_CONTRIBUTION_NAMES = (
    "c_epic_pk",
    "c_kpi_pk",
    "c_expected_uplift",
    "c_expected_by",
    "c_claimed_share",
    "c_version",
    "c_created_at",
    "c_updated_at",
)


def _contributions(
    rows: Sequence[Row[Any]], kpis: Sequence[Kpi | None], epics: Sequence[Epic | None]
) -> list[Contribution]:
    return [
        Contribution(
            epic_pk=epic_pk,
            kpi_pk=kpi_pk,
            kpi_node=kpi,
            epic_node=epic,
            expected_uplift=_dec(uplift),
            expected_by=expected_by,
            claimed_share=_dec(share),
            version=version,
            created_at=created_at,
            updated_at=updated_at,
        )
        for (
            epic_pk,
            kpi_pk,
            uplift,
            expected_by,
            share,
            version,
            created_at,
            updated_at,
        ), kpi, epic in zip(_columns(rows, _CONTRIBUTION_NAMES), kpis, epics, strict=True)
    ]


def contributions_with_kpi(ctx: GraphQLContext, rows: Sequence[Row[Any]]) -> list[Contribution]:
    """Contributions whose KPIs were fetched for their batch (`loaders._kpis_of`)."""
    cache = kpi_cache(ctx)
    return _contributions(rows, [cache[r.c_kpi_pk] for r in rows], [None] * len(rows))


def contributions_with_epic(ctx: GraphQLContext, rows: Sequence[Row[Any]]) -> list[Contribution]:
    """Contributions with their epic's columns on the same row."""
    return _contributions(rows, [None] * len(rows), epic_nodes(rows))


# A column the query does not show, so was not read (`store.measurement_columns`).
_UNREAD = cast(DecimalText, None)
_MEASUREMENT_NAMES = ("kpi_pk", "period", "segment", "value", "source", "version", "recorded_at")


def measurement_nodes(ctx: GraphQLContext | None, rows: Sequence[Any]) -> list[Measurement]:
    return [
        Measurement(
            kpi_pk=kpi_pk,
            period=period,
            segment=segment,
            value=_decimal_text(value) if value is not None else _UNREAD,
            source=source,
            version=version,
            recorded_at=recorded_at,
        )
        for kpi_pk, period, segment, value, source, version, recorded_at in _columns(
            rows, _MEASUREMENT_NAMES
        )
    ]


def score_nodes(ctx: GraphQLContext | None, rows: Sequence[Any]) -> list[Score]:
    return [score_node(ctx, r) for r in rows]


def decision_nodes(ctx: GraphQLContext | None, rows: Sequence[Any]) -> list[Decision]:
    return [decision_node(ctx, r) for r in rows]


def score_node(ctx: GraphQLContext | None, r: Any) -> Score:
    return Score(
        epic_pk=r.epic_pk,
        id=strawberry.ID(r.id),
        period=r.period,
        outcome_potential=r.outcome_potential,
        time_to_value=r.time_to_value,
        risk=r.risk,
        total=r.total,
        scored_by=r.scored_by,
        note=r.note,
        created_at=r.created_at,
    )


def decision_node(ctx: GraphQLContext | None, r: Any) -> Decision:
    return Decision(
        epic_pk=r.epic_pk,
        id=strawberry.ID(r.id),
        decided_on=r.decided_on,
        decision=r.decision,
        grade=r.grade,
        rationale=r.rationale,
        decided_by=r.decided_by,
        created_at=r.created_at,
    )


def change_node(r: Any) -> Change:
    return Change(
        seq=r.seq,
        at=r.at,
        actor=r.actor,
        entity=r.entity,
        entity_id=r.entity_id,
        action=r.action,
        data=r.data,
        hash=r.hash,
        prev_hash=r.prev_hash,
    )
