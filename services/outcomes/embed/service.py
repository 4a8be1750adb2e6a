"""Builds the scorecard view: what the board sees, read from the outcomes tables and the
attribution service, shaped for the template (which only formats)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.embed import store
from outcomes.embed.benefits import Benefits, Money
from outcomes.embed.charts import BarPair, TrendChart, bars_svg, fmt_number, trend_svg
from outcomes.models import Epic, Kpi

STREAMS = ("Revenue", "Cost", "Risk", "CX")
THEMES = ("light", "dark")
DEFAULT_LINE = {"Revenue": "financial", "Cost": "financial", "CX": "customer", "Risk": "risk"}
MAX_AXIS = {"monthly": 36, "quarterly": 16}
MAX_TARGET_AHEAD = {"monthly": 24, "quarterly": 8}
DECISION_LABELS = {
    "continue": "Continue",
    "course_correct": "Course-correct",
    "scale": "Scale",
    "pause": "Pause",
    "cut": "Cut",
}
GRADE_LABELS = {
    "realized": "Realized",
    "on_track": "On track",
    "delayed": "Delayed",
    "disproven": "Disproven",
}

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class FilterError(ValueError):
    """A filter the page cannot honour (unknown stream, unknown epic)."""


def canonical_stream(value: str | None) -> str | None:
    if not value:
        return None
    for s in STREAMS:
        if s.lower() == value.strip().lower():
            return s
    raise FilterError(f"Unknown stream {value!r}; use one of {', '.join(STREAMS)}.")


# --- periods ---------------------------------------------------------------------------


def period_ordinal(period: str, cadence: str) -> int | None:
    if cadence == "quarterly":
        m = _QUARTER.match(period)
        return int(m.group(1)) * 4 + int(m.group(2)) - 1 if m else None
    m = _MONTH.match(period)
    return int(m.group(1)) * 12 + int(m.group(2)) - 1 if m else None


def ordinal_period(n: int, cadence: str) -> str:
    if cadence == "quarterly":
        return f"{n // 4:04d}-Q{n % 4 + 1}"
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def date_ordinal(d: date, cadence: str) -> int:
    if cadence == "quarterly":
        return d.year * 4 + (d.month - 1) // 3
    return d.year * 12 + d.month - 1


# --- formatting ------------------------------------------------------------------------


def fmt_value(value: Decimal | None, unit: str) -> str:
    if value is None:
        return "—"
    text = fmt_number(value)
    if unit == "percent":
        return f"{text}%"
    if unit == "seconds":
        return f"{text} s"
    return text


def fmt_money(m: Money | None) -> str:
    if m is None:
        return "—"
    amount = f"{m.amount.quantize(Decimal('0.01')):,}"
    return f"{m.currency} {amount}" if m.currency else amount


# --- view model ------------------------------------------------------------------------


@dataclass
class KpiCard:
    slug: str
    name: str
    stream: str | None
    unit: str
    direction: str
    latest: str
    latest_period: str | None
    baseline: str
    target: str
    target_due: str | None
    progress: str | None
    chart: Markup
    chart_id: str
    rows: list[tuple[str, str]]


@dataclass
class EpicFinance:
    key: str
    title: str
    streams: str
    planned: str
    realized: str
    run_rate: str
    payback: str
    realized_share: str | None


@dataclass
class RankRow:
    rank: int
    key: str
    title: str
    period: str
    total: int
    outcome_potential: int
    time_to_value: int
    risk: int


@dataclass
class DecisionRow:
    decided_on: str
    key: str
    decision: str
    grade: str
    rationale: str


@dataclass
class Scorecard:
    theme: str
    filters: dict[str, str]
    generated_at: str
    benefits_available: bool
    benefits_message: str | None
    epics: list[EpicFinance] = field(default_factory=list)
    finance_chart: Markup | None = None
    financial: list[KpiCard] = field(default_factory=list)
    customer: list[KpiCard] = field(default_factory=list)
    operational: list[KpiCard] = field(default_factory=list)
    risk: list[KpiCard] = field(default_factory=list)
    ranking: list[RankRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    epic_count: int = 0


def scorecard_line(kpi: Kpi) -> str:
    if kpi.scorecard_line:
        return kpi.scorecard_line
    return DEFAULT_LINE.get(kpi.stream or "", "operational")


def kpi_card(kpi: Kpi, points: Sequence[store.Point], index: int) -> KpiCard:
    cadence = kpi.cadence if kpi.cadence in MAX_AXIS else "monthly"
    ords = [(o, p) for p in points if (o := period_ordinal(p.period, cadence)) is not None]
    ords = ords[-MAX_AXIS[cadence] :]
    due_ord = date_ordinal(kpi.target_due, cadence) if kpi.target_due else None
    first = ords[0][0] if ords else due_ord
    last = ords[-1][0] if ords else due_ord
    if first is not None and last is not None and due_ord is not None:
        if due_ord > last and due_ord - last <= MAX_TARGET_AHEAD[cadence]:
            last = due_ord
        if not ords:
            first = due_ord
    periods = (
        [ordinal_period(n, cadence) for n in range(first, last + 1)]
        if first is not None and last is not None
        else []
    )
    values = [(o - first, p.value) for o, p in ords] if first is not None else []
    target_index = (
        due_ord - first
        if due_ord is not None and first is not None and 0 <= due_ord - first < len(periods)
        else None
    )
    latest = ords[-1][1] if ords else None
    progress = None
    if (
        latest is not None
        and kpi.baseline_value is not None
        and kpi.target_value is not None
        and kpi.target_value != kpi.baseline_value
    ):
        share = (latest.value - kpi.baseline_value) / (kpi.target_value - kpi.baseline_value)
        progress = f"{(share * 100).quantize(Decimal('1'))}% of the way from baseline to target"
    due_text = kpi.target_due.isoformat() if kpi.target_due else None
    baseline = fmt_value(kpi.baseline_value, kpi.unit)
    target = fmt_value(kpi.target_value, kpi.unit)
    desc = (
        f"{kpi.name}: latest {fmt_value(latest.value if latest else None, kpi.unit)}"
        + (f" in {latest.period}" if latest else " (no measurements yet)")
        + f"; baseline {baseline}; target {target}"
        + (f" by {due_text}" if due_text else "")
        + f"; {kpi.direction} is better."
    )
    chart_id = f"kpi-{index}"
    chart = trend_svg(
        TrendChart(
            chart_id=chart_id,
            title=f"{kpi.name} trend",
            periods=periods,
            values=values,
            baseline=kpi.baseline_value,
            target=kpi.target_value,
            target_index=target_index,
            target_label=due_text,
            unit=kpi.unit,
            description=desc,
        )
    )
    return KpiCard(
        slug=kpi.slug,
        name=kpi.name,
        stream=kpi.stream,
        unit=kpi.unit,
        direction=kpi.direction,
        latest=fmt_value(latest.value if latest else None, kpi.unit),
        latest_period=latest.period if latest else None,
        baseline=baseline,
        target=target,
        target_due=due_text,
        progress=progress,
        chart=chart,
        chart_id=chart_id,
        rows=[(p.period, fmt_value(p.value, kpi.unit)) for _, p in ords],
    )


def _payback_text(period: str | None, planned: Money | None) -> str:
    if period:
        return period
    return "not yet" if planned is not None else "— (no planned cost)"


def _epic_money(epic: Epic) -> Money | None:
    if epic.planned_cost_amount is None:
        return None
    return Money(epic.planned_cost_amount, epic.planned_cost_currency)


async def build_scorecard(
    session: AsyncSession,
    *,
    filters: dict[str, str],
    theme: str,
    benefits: Benefits,
    now: datetime,
) -> Scorecard:
    stream = canonical_stream(filters.get("stream"))
    team = filters.get("team") or None
    epic_pk: int | None = None
    if filters.get("epic"):
        epic = await store.get_epic(session, filters["epic"])
        if epic is None:
            raise FilterError(f"Unknown epic {filters['epic']!r}.")
        epic_pk = epic.pk
    epics = await store.epics_in_scope(session, stream=stream, team=team, epic_pk=epic_pk)
    epic_pks = [e.pk for e in epics]
    narrowed = team is not None or epic_pk is not None
    kpis = await store.kpis_in_scope(
        session, stream=stream, epic_pks=epic_pks if narrowed else None
    )
    points = await store.current_values(session, [k.pk for k in kpis])
    by_kpi: dict[int, list[store.Point]] = {}
    for p in points:
        by_kpi.setdefault(p.kpi_pk, []).append(p)

    card = Scorecard(
        theme=theme,
        filters={k: v for k, v in filters.items() if v and k != "theme"},
        generated_at=now.strftime("%Y-%m-%d %H:%M UTC"),
        benefits_available=benefits.available,
        benefits_message=None
        if benefits.available
        else f"Realized benefit is unavailable: {benefits.reason or 'no answer'}.",
        epic_count=len(epics),
    )
    if stream is not None:
        card.filters["stream"] = stream
    for i, kpi in enumerate(kpis):
        kc = kpi_card(kpi, by_kpi.get(kpi.pk, []), i)
        getattr(card, scorecard_line(kpi), card.operational).append(kc)

    bars: list[BarPair] = []
    for e in epics:
        if not {"Revenue", "Cost"} & set(e.streams or []):
            continue
        planned = _epic_money(e)
        b = benefits.for_epic(e.id, e.key) if benefits.available else None
        realized = b.realized if b else None
        share = None
        if (
            planned
            and realized
            and planned.amount > 0
            and (planned.currency == realized.currency or not realized.currency)
        ):
            share = f"{(realized.amount / planned.amount * 100).quantize(Decimal('1'))}%"
        card.epics.append(
            EpicFinance(
                key=e.key,
                title=e.title,
                streams=", ".join(e.streams or []),
                planned=fmt_money(planned),
                realized=fmt_money(realized) if benefits.available else "unavailable",
                run_rate=fmt_money(b.run_rate if b else None)
                if benefits.available
                else "unavailable",
                payback=_payback_text(b.payback_period if b else None, planned)
                if benefits.available
                else "unavailable",
                realized_share=share,
            )
        )
        bars.append(
            BarPair(
                e.key, planned.amount if planned else None, realized.amount if realized else None
            )
        )
    if bars and any(b.planned is not None or b.realized is not None for b in bars):
        card.finance_chart = bars_svg(
            "finance",
            "Planned cost vs realized benefit per epic",
            "; ".join(f"{r.key}: planned {r.planned}, realized {r.realized}" for r in card.epics),
            bars[:20],
        )

    scores = await store.latest_scores(session, epic_pks)
    by_pk = {e.pk: e for e in epics}
    scores.sort(key=lambda s: (-s.total, by_pk[s.epic_pk].key))
    card.ranking = [
        RankRow(
            rank=i + 1,
            key=by_pk[s.epic_pk].key,
            title=by_pk[s.epic_pk].title,
            period=s.period,
            total=s.total,
            outcome_potential=s.outcome_potential,
            time_to_value=s.time_to_value,
            risk=s.risk,
        )
        for i, s in enumerate(scores[:20])
    ]
    for d in await store.latest_decisions(session, epic_pks):
        card.decisions.append(
            DecisionRow(
                decided_on=d.decided_on.isoformat(),
                key=by_pk[d.epic_pk].key,
                decision=DECISION_LABELS.get(d.decision, d.decision),
                grade=GRADE_LABELS.get(d.grade or "", d.grade or "—"),
                rationale=d.rationale or "",
            )
        )
    return card
