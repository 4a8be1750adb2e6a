"""Realized benefit per epic, from the latest official run of each rule set."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attribution.benefits.schemas import BenefitPage, BenefitRead, KpiBenefitRead
from attribution.models import AttributionRun
from attribution.rulesets import service as rulesets
from attribution.runs import service as runs
from attribution.runs import store as runs_store
from ledgerkit.errors import ValidationFailed
from ledgerkit.money import Money
from ledgerkit.pagination import decode_cursor, encode_cursor


def _m(amount: str | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=Decimal(amount), currency=currency)


def _read(run: AttributionRun, e: dict[str, Any]) -> BenefitRead:
    c = e["currency"]
    zero = Money(amount=Decimal("0.00"), currency=c)
    return BenefitRead(
        epic=e["epic"],
        epic_id=e["epic_id"],
        title=e.get("title") or "",
        team=e.get("team"),
        streams=list(e.get("streams") or []),
        ruleset=run.ruleset_id,
        version=run.ruleset_version,
        run=run.id,
        period_from=run.period_from,
        period_to=run.period_to,
        currency=c,
        realized=_m(e["realized"], c) or zero,
        run_rate=_m(e["run_rate"], c) or zero,
        latest_period=e.get("latest_period"),
        planned_cost=_m(e.get("planned_cost"), c),
        payback_period=e.get("payback_period"),
        kpis=[
            KpiBenefitRead(
                kpi=k["kpi"],
                realized=_m(k["realized"], c) or zero,
                run_rate=_m(k["run_rate"], c) or zero,
                latest_period=k.get("latest_period"),
            )
            for k in e.get("kpis", [])
        ],
    )


async def list_benefits(
    session: AsyncSession,
    limit: int,
    cursor: str | None,
    *,
    stream: str | None = None,
    team: str | None = None,
    epic: str | None = None,
    ruleset: str | None = None,
    run: str | None = None,
) -> BenefitPage:
    """Per epic and rule set, from the latest official run (or the named `run`)."""
    if run is not None:
        selected = [await runs.find_run(session, run)]
    else:
        ruleset_id = (await rulesets.find_ruleset(session, ruleset)).id if ruleset else None
        selected = await runs_store.latest_official_runs(session, ruleset_id)
    wanted_stream = stream.lower() if stream else None
    rows: list[tuple[AttributionRun, dict[str, Any]]] = []
    for r in selected:
        for e in r.epics:
            if epic is not None and epic not in (e["epic"], e["epic_id"]):
                continue
            if team is not None and e.get("team") != team:
                continue
            if wanted_stream and wanted_stream not in {s.lower() for s in e.get("streams", [])}:
                continue
            rows.append((r, e))
    position = decode_cursor(cursor)
    if position is not None and (
        not isinstance(position, int) or isinstance(position, bool) or position < 0
    ):
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    offset = position or 0
    page = rows[offset : offset + limit]
    more = offset + limit < len(rows)
    return BenefitPage(
        items=[_read(r, e) for r, e in page],
        next_cursor=encode_cursor(offset + limit) if more else None,
    )
