# mypy: disable-error-code="untyped-decorator"
"""GraphQL types of the attribution service, built from rows (the run snapshot blob is
never read). Money amounts are decimal strings; `Epic`/`Kpi` are federation stubs owned
by the outcomes service (resolvable there by `id` / `slug`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.scalars import JSON
from strawberry.types import Info

from attribution.graphql import store
from ledgerkit.graphql import (
    DEFAULT_FIRST,
    Connection,
    GraphQLContext,
    check_first,
    connection_from_slice,
    decode_offset,
)
from ledgerkit.graphql_scalars import Money, Period

Ctx = Info[GraphQLContext, None]


def _money(amount: str | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=Decimal(amount), currency=currency)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# ---- federation stubs (entities owned by the outcomes service) -------------------------


@strawberry.federation.type(
    keys=[Key(fields=FieldSet("id"), resolvable=False)], description="An outcomes epic."
)
class Epic:
    id: strawberry.ID


@strawberry.federation.type(
    keys=[Key(fields=FieldSet("slug"), resolvable=False)], description="An outcomes KPI."
)
class Kpi:
    slug: str


# ---- rule sets ---------------------------------------------------------------------------


@strawberry.type(description="One version of a rule set (immutable once agreed).")
class RuleSetVersion:
    ruleset: strawberry.ID
    version: int
    status: str
    effective_from: Period
    rules: JSON
    content_hash: str
    revision: int
    proposed_by: str | None
    proposed_at: datetime | None
    agreed_by: str | None
    agreed_at: datetime | None
    rejected_by: str | None
    rejected_at: datetime | None
    reject_reason: str | None
    superseded_by: int | None
    superseded_from: Period | None
    warnings: list[JSON]
    created_by: str
    created_at: datetime
    updated_at: datetime


def version_node(r: Any) -> RuleSetVersion:
    return RuleSetVersion(
        ruleset=strawberry.ID(r.ruleset_id),
        version=r.number,
        status=r.status,
        effective_from=Period(r.effective_from),
        rules=r.rules,
        content_hash=r.content_hash,
        revision=r.revision,
        proposed_by=r.proposed_by,
        proposed_at=r.proposed_at,
        agreed_by=r.agreed_by,
        agreed_at=r.agreed_at,
        rejected_by=r.rejected_by,
        rejected_at=r.rejected_at,
        reject_reason=r.reject_reason,
        superseded_by=r.superseded_by,
        superseded_from=Period(r.superseded_from) if r.superseded_from else None,
        warnings=list(r.warnings or []),
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def versions_loader(ctx: GraphQLContext) -> DataLoader[str, list[RuleSetVersion]]:
    """Every version of each rule set (one statement per batch of rule sets)."""

    async def batch(ids: list[str]) -> list[list[RuleSetVersion]]:
        rows = await store.versions_of(ctx, ids)
        out: dict[str, list[RuleSetVersion]] = {i: [] for i in ids}
        for r in rows:
            out[r.ruleset_id].append(version_node(r))
        return [out[i] for i in ids]

    return ctx.loader("versions", lambda: DataLoader(load_fn=batch))


def ruleset_loader(ctx: GraphQLContext) -> DataLoader[str, RuleSet | None]:
    async def batch(ids: list[str]) -> list[RuleSet | None]:
        rows = {r.id: ruleset_node(r) for r in await store.rulesets_by_id(ctx, ids)}
        return [rows.get(i) for i in ids]

    return ctx.loader("rulesets", lambda: DataLoader(load_fn=batch))


@strawberry.type(description="A rule set agreed with finance, with its versions.")
class RuleSet:
    id: strawberry.ID
    name: str
    description: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Versions, oldest first.")
    async def versions(
        self, info: Ctx, first: int | None = None, after: str | None = None
    ) -> Connection[RuleSetVersion]:
        items = await versions_loader(info.context).load(str(self.id))
        limit = check_first(DEFAULT_FIRST if first is None else first)
        offset = decode_offset(after)
        return connection_from_slice(
            items[offset : offset + limit + 1], offset=offset, first=limit, total=len(items)
        )

    @strawberry.field(description="The newest agreed version, if any.")
    async def latest_agreed(self, info: Ctx) -> RuleSetVersion | None:
        items = await versions_loader(info.context).load(str(self.id))
        agreed = [v for v in items if v.status == "agreed"]
        return agreed[-1] if agreed else None


def ruleset_node(r: Any) -> RuleSet:
    return RuleSet(
        id=strawberry.ID(r.id),
        name=r.name,
        description=r.description,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


# ---- runs and lines ----------------------------------------------------------------------


@strawberry.type
class StreamTotal:
    stream: str
    benefit: Money


@strawberry.type
class RunTotals:
    benefit: Money
    unattributed: Money
    lines: int
    gaps: int
    by_stream: list[StreamTotal]


@strawberry.type(description="One epic × KPI × period line of a run.")
class BenefitLine:
    run: strawberry.ID
    seq: int
    epic: str = strawberry.field(description="Epic key.")
    epic_id: strawberry.ID
    kpi: str = strawberry.field(description="KPI slug.")
    stream: str
    period: Period
    uplift: Decimal
    share: Decimal
    ramp: Decimal
    period_value: Decimal | None
    benefit: Money | None
    cumulative: Money | None
    currency: str

    @strawberry.field(description="The epic as a federation entity (outcomes resolves it).")
    def epic_entity(self) -> Epic:
        return Epic(id=self.epic_id)

    @strawberry.field(description="The KPI as a federation entity (outcomes resolves it).")
    def kpi_entity(self) -> Kpi:
        return Kpi(slug=self.kpi)


def line_node(r: Any) -> BenefitLine:
    return BenefitLine(
        run=strawberry.ID(r.run_id),
        seq=r.seq,
        epic=r.epic_key,
        epic_id=strawberry.ID(r.epic_id),
        kpi=r.kpi,
        stream=r.stream,
        period=Period(r.period),
        uplift=Decimal(r.uplift),
        share=Decimal(r.share),
        ramp=Decimal(r.ramp),
        period_value=_dec(r.period_value),
        benefit=_money(r.benefit, r.currency),
        cumulative=_money(r.cumulative, r.currency),
        currency=r.currency,
    )


@strawberry.type(description="A computed run: hashes, range, totals, and its lines.")
class Run:
    id: strawberry.ID
    ruleset: strawberry.ID
    version: int
    content_hash: str
    input_hash: str
    lines_hash: str
    status: str
    period_from: Period = strawberry.field(name="from")
    period_to: Period = strawberry.field(name="to")
    as_of: datetime
    currency: str
    replica_after: int
    totals: RunTotals
    gaps: list[JSON]
    warnings: list[JSON]
    created_by: str
    created_at: datetime

    @strawberry.field(description="The rule set this run computed.")
    async def rule_set(self, info: Ctx) -> RuleSet | None:
        return await ruleset_loader(info.context).load(str(self.ruleset))


def run_node(r: Any) -> Run:
    t = r.totals or {}
    c = r.currency

    def m(v: Any) -> Money:
        v = v or {}
        return Money(amount=Decimal(v.get("amount") or "0"), currency=v.get("currency") or c)

    return Run(
        id=strawberry.ID(r.id),
        ruleset=strawberry.ID(r.ruleset_id),
        version=r.ruleset_version,
        content_hash=r.content_hash,
        input_hash=r.input_hash,
        lines_hash=r.lines_hash,
        status=r.status,
        period_from=Period(r.period_from),
        period_to=Period(r.period_to),
        as_of=r.as_of,
        currency=c,
        replica_after=r.replica_after,
        totals=RunTotals(
            benefit=m(t.get("benefit")),
            unattributed=m(t.get("unattributed")),
            lines=int(t.get("lines") or 0),
            gaps=int(t.get("gaps") or 0),
            by_stream=[
                StreamTotal(stream=s["stream"], benefit=m(s.get("benefit")))
                for s in t.get("by_stream") or []
            ],
        ),
        gaps=list(r.gaps or []),
        warnings=list(r.warnings or []),
        created_by=r.created_by,
        created_at=r.created_at,
    )


# ---- benefits and facts ------------------------------------------------------------------


@strawberry.type
class KpiBenefit:
    kpi: str
    realized: Money
    run_rate: Money
    latest_period: Period | None


@strawberry.type(description="Realized benefit of an epic from an official run.")
class Benefit:
    epic: str = strawberry.field(description="Epic key.")
    epic_id: strawberry.ID
    title: str
    team: str | None
    streams: list[str]
    ruleset: strawberry.ID
    version: int
    run: strawberry.ID
    period_from: Period = strawberry.field(name="from")
    period_to: Period = strawberry.field(name="to")
    currency: str
    realized: Money
    run_rate: Money
    latest_period: Period | None
    planned_cost: Money | None
    payback_period: Period | None
    kpis: list[KpiBenefit]


@strawberry.type(
    description="One flat row per epic × KPI × period of a run, with every dimension a BI "
    "tool needs (load it as one table)."
)
class BenefitFact:
    run_id: strawberry.ID
    rule_set: strawberry.ID
    rule_version: int
    epic_id: strawberry.ID
    epic_key: str
    epic_title: str
    team: str | None
    streams: list[str] = strawberry.field(description="The epic's streams.")
    stream: str = strawberry.field(description="The stream this line counts for (KPI's).")
    kpi: str
    kpi_name: str | None
    unit: str | None
    period: Period
    uplift: Decimal
    share: Decimal
    benefit: Decimal | None
    cumulative: Decimal | None
    currency: str
