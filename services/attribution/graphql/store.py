"""SQL for the attribution GraphQL read side (Core statements, explicit columns: the run
snapshot blob is never loaded)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select

from attribution.models import (
    AttributionRun,
    BenefitLine,
    ReplicaKpi,
    RuleSet,
    RuleSetVersion,
)
from ledgerkit.graphql import GraphQLContext

R = AttributionRun.__table__.c
L = BenefitLine.__table__.c
RS = RuleSet.__table__.c
V = RuleSetVersion.__table__.c
RK = ReplicaKpi.__table__.c

RUN_COLS = [
    R.id,
    R.ruleset_id,
    R.ruleset_version,
    R.status,
    R.content_hash,
    R.input_hash,
    R.lines_hash,
    R.period_from,
    R.period_to,
    R.as_of,
    R.currency,
    R.replica_after,
    R.created_by,
    R.created_at,
    R.totals,
    R.gaps,
    R.warnings,
]
LINE_COLS = list(BenefitLine.__table__.c)
RULESET_COLS = list(RuleSet.__table__.c)
VERSION_COLS = list(RuleSetVersion.__table__.c)


async def rows(ctx: GraphQLContext, stmt: Any) -> list[Row[Any]]:
    return list((await ctx.execute(stmt)).all())


async def versions_of(ctx: GraphQLContext, ruleset_ids: Sequence[str]) -> list[Row[Any]]:
    stmt = select(*VERSION_COLS).where(V.ruleset_id.in_(ruleset_ids)).order_by(V.number)
    return await rows(ctx, stmt)


async def rulesets_by_id(ctx: GraphQLContext, ids: Sequence[str]) -> list[Row[Any]]:
    return await rows(ctx, select(*RULESET_COLS).where(RS.id.in_(ids)))


async def latest_official_run_ids(ctx: GraphQLContext, ruleset_id: str | None) -> list[str]:
    """The newest official run of each rule set (or of one)."""
    ranked = select(
        R.id,
        func.row_number()
        .over(partition_by=R.ruleset_id, order_by=[R.created_at.desc(), R.id.desc()])
        .label("rn"),
    ).where(R.status == "official")
    if ruleset_id is not None:
        ranked = ranked.where(R.ruleset_id == ruleset_id)
    sub = ranked.subquery()
    return [r.id for r in await rows(ctx, select(sub.c.id).where(sub.c.rn == 1))]


async def run_epics(ctx: GraphQLContext, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """(run id, epic id) → the run's epic summary (title, team, streams as computed)."""
    out: dict[str, dict[str, Any]] = {}
    for r in await rows(ctx, select(R.id, R.epics).where(R.id.in_(run_ids))):
        for e in r.epics or []:
            out[f"{r.id}:{e['epic_id']}"] = e
    return out


async def kpi_dimensions(ctx: GraphQLContext, slugs: Sequence[str]) -> dict[str, Row[Any]]:
    """Current replica name/unit of each KPI."""
    stmt = select(RK.slug, RK.name, RK.unit).where(
        RK.slug.in_(list(slugs)), RK.superseded_at.is_(None)
    )
    return {r.slug: r for r in await rows(ctx, stmt)}
