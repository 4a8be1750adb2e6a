"""The replica's state, and the input snapshot of a run read from it as known at `as_of`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attribution.engine import (
    ContributionInput,
    EpicInput,
    KpiInput,
    MeasurementInput,
    Money,
    Period,
    PeriodError,
    Snapshot,
    ValuePerUnit,
    parse_period,
)
from attribution.replica import store
from attribution.replica.schemas import SyncRead
from ledgerkit.timeutil import as_utc

UNTAGGED_STREAM = "untagged"


async def sync_state(session: AsyncSession) -> SyncRead:
    state = await store.peek_state(session)
    if state is None:
        return SyncRead(after=0, head=0, lag=0)
    return SyncRead(
        after=state.after,
        head=state.head,
        lag=max(0, state.head - state.after),
        last_success_at=as_utc(state.last_success_at) if state.last_success_at else None,
        last_error=state.last_error,
        last_error_at=as_utc(state.last_error_at) if state.last_error_at else None,
    )


def _d(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _date(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text[:10])


def _kpi(r: Any) -> KpiInput:
    vpu = None
    if r.vpu_amount is not None and r.vpu_currency and r.vpu_per in ("year", "month"):
        vpu = ValuePerUnit(Decimal(r.vpu_amount), r.vpu_currency, r.vpu_per)
    return KpiInput(
        slug=r.slug,
        stream=r.stream or UNTAGGED_STREAM,
        unit=r.unit,
        direction="decrease" if r.direction == "decrease" else "increase",
        cadence="quarterly" if r.cadence == "quarterly" else "monthly",
        baseline=_d(r.baseline),
        target=_d(r.target),
        target_due=_date(r.target_due),
        value_per_unit=vpu,
    )


def _epic(r: Any) -> EpicInput:
    cost = None
    if r.planned_cost_amount is not None and r.planned_cost_currency:
        cost = Money(Decimal(r.planned_cost_amount), r.planned_cost_currency)
    return EpicInput(
        id=r.id,
        key=r.key,
        title=r.title,
        streams=tuple(r.streams or ()),
        team=r.team,
        planned_cost=cost,
        start_date=_date(r.start_date),
        status=r.status,
    )


def _up_to(period: str, end: Period | None) -> bool:
    if end is None:
        return True
    try:
        return parse_period(period).first_month <= end.last_month
    except PeriodError:
        return True  # let the engine's checks name it


async def snapshot_at(
    session: AsyncSession,
    at: datetime,
    *,
    rule_kpis: Iterable[str] = (),
    period_to: str | None = None,
    measurements: bool = True,
) -> Snapshot:
    """Every input a run reads, as the replica knew it at `at`: the contributions in force,
    their epics and KPIs (plus KPIs the rules name), and those KPIs' measurements up to the
    end of the range (values after it cannot change the run, so they stay out of its hash).
    """
    at = as_utc(at)
    contributions = await store.contributions_at(session, at)
    epic_ids = {c.epic_id for c in contributions}
    kpi_slugs = {c.kpi for c in contributions} | set(rule_kpis)
    kpis = [_kpi(r) for r in await store.kpis_at(session, at) if r.slug in kpi_slugs]
    epics = [_epic(r) for r in await store.epics_at(session, at) if r.id in epic_ids]
    end = parse_period(period_to) if period_to else None
    values: list[MeasurementInput] = []
    if measurements:
        known = {k.slug for k in kpis}
        values = [
            MeasurementInput(r.kpi, r.period, Decimal(r.value), r.segment)
            for r in await store.measurements_at(session, at, known)
            if _up_to(r.period, end)
        ]
    return Snapshot(
        kpis=tuple(kpis),
        epics=tuple(epics),
        contributions=tuple(
            ContributionInput(
                epic_id=c.epic_id,
                kpi=c.kpi,
                expected_uplift=_d(c.expected_uplift),
                claimed_share=_d(c.claimed_share),
            )
            for c in contributions
        ),
        measurements=tuple(values),
    )


async def replica_is_empty(session: AsyncSession) -> bool:
    state = await store.peek_state(session)
    return (state is None or state.after == 0) and not await store.has_kpis(session)
