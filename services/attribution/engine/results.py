"""What a run produces, and the totals derived from its lines.

Every number here is derived from the *rounded* lines (cumulative, realized, run-rate,
payback), so a reader can re-add the lines and get the same totals to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from functools import lru_cache

from .canonical import canonical_json, normalize_decimal, sha256_hex
from .inputs import EpicInput, KpiInput
from .periods import parse_period, periods_per_year

CENT = Decimal("0.01")
# Uplift and share are reported (not used) at 10 decimal places; the money is computed from
# the unrounded values.
REPORT_QUANTUM = Decimal("1e-10")
ZERO_MONEY = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    """The one rounding of a money amount: to 0.01, half to even, never a negative zero."""
    rounded = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return rounded.copy_abs() if rounded.is_zero() else rounded


@lru_cache(maxsize=65536)  # pure; shares, ramps and uplifts repeat across epics
def report_decimal(value: Decimal) -> Decimal:
    """A non-money figure for display: 10 places, half to even, trailing zeros dropped."""
    return normalize_decimal(value.quantize(REPORT_QUANTUM, rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class RunWarning:
    """Something the run could not count as finance intended; the lines affected say how."""

    code: str
    message: str
    kpi: str | None = None
    epic: str | None = None  # epic key


@dataclass(frozen=True)
class Gap:
    """A (KPI, period) in the range without the measurement(s) the method needs: no line."""

    kpi: str
    period: str
    missing_segments: tuple[str, ...]


@dataclass(frozen=True, slots=True)  # slots: a run can hold 360k of them
class BenefitLine:
    epic_id: str
    epic_key: str
    kpi: str
    period: str
    uplift: Decimal  # KPI units, after cap and floor; reported at 10 places
    share: Decimal  # reported at 10 places
    ramp: Decimal  # 0 before the lag ends, then the ramp fractions, then 1
    period_value: Decimal | None  # KPI-level money for display, 2dp; None: no value_per_unit
    benefit: Decimal | None  # 2dp, rounded once; None when the KPI has no value_per_unit
    cumulative: Decimal | None  # running sum of this epic x KPI's benefit, in period order
    currency: str


@dataclass(frozen=True)
class UnattributedLine:
    """The part of a KPI's period value no epic is credited with (shares sum below 1)."""

    kpi: str
    period: str
    share: Decimal
    amount: Decimal | None  # None: no money, or the uplift differs per epic (see README)
    currency: str


@dataclass(frozen=True)
class EpicKpiBenefit:
    kpi: str
    realized: Decimal
    run_rate: Decimal
    latest_period: str | None


@dataclass(frozen=True)
class EpicBenefit:
    epic_id: str
    epic_key: str
    currency: str
    realized: Decimal  # sum of the epic's rounded lines in the run's range
    run_rate: Decimal  # per KPI, its latest line annualized; summed over KPIs
    latest_period: str | None
    planned_cost: Decimal | None  # in the reporting currency, 2dp
    payback_period: str | None  # first period whose cumulative benefit reaches planned_cost
    kpis: tuple[EpicKpiBenefit, ...]


@dataclass(frozen=True)
class StreamTotal:
    stream: str
    benefit: Decimal


@dataclass(frozen=True)
class RunTotals:
    currency: str
    benefit: Decimal
    unattributed: Decimal
    lines: int
    gaps: int
    by_stream: tuple[StreamTotal, ...]  # by the KPI's stream


@dataclass(frozen=True)
class RunResult:
    content_hash: str
    input_hash: str
    period_from: str
    period_to: str
    currency: str
    lines: tuple[BenefitLine, ...]
    epics: tuple[EpicBenefit, ...]
    unattributed: tuple[UnattributedLine, ...]
    gaps: tuple[Gap, ...]
    warnings: tuple[RunWarning, ...]
    totals: RunTotals

    def to_canonical(self) -> bytes:
        return canonical_json(self)

    @property
    def lines_hash(self) -> str:
        """sha256 hex of the canonical JSON of the lines: what ``verify`` compares."""
        return sha256_hex(canonical_json(self.lines))

    @property
    def result_hash(self) -> str:
        return sha256_hex(self.to_canonical())


@lru_cache(maxsize=4096)  # pure; called for every line when sorting
def _period_key(period: str) -> tuple[int, int]:
    return parse_period(period).sort_key


def line_order(line: BenefitLine) -> tuple[tuple[int, int], str, str, str]:
    return (_period_key(line.period), line.kpi, line.epic_key, line.epic_id)


def with_cumulative(lines: Iterable[BenefitLine]) -> tuple[BenefitLine, ...]:
    """Sort lines (period, KPI, epic key) and fill the per epic x KPI running total."""
    running: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO_MONEY)
    out: list[BenefitLine] = []
    for line in sorted(lines, key=line_order):
        if line.benefit is None:
            out.append(line)
            continue
        key = (line.epic_id, line.kpi)
        running[key] += line.benefit
        # Built directly: dataclasses.replace costs more than the arithmetic of a line.
        out.append(
            BenefitLine(
                line.epic_id,
                line.epic_key,
                line.kpi,
                line.period,
                line.uplift,
                line.share,
                line.ramp,
                line.period_value,
                line.benefit,
                running[key],
                line.currency,
            )
        )
    return tuple(out)


def _payback(lines: list[BenefitLine], cost: Decimal | None) -> str | None:
    if cost is None:
        return None
    by_period: dict[str, Decimal] = defaultdict(lambda: ZERO_MONEY)
    for line in lines:
        assert line.benefit is not None
        by_period[line.period] += line.benefit
    cumulative = ZERO_MONEY
    for period in sorted(by_period, key=_period_key):
        cumulative += by_period[period]
        if cumulative >= cost:
            return period
    return None


def epic_benefits(
    lines: tuple[BenefitLine, ...],
    epics: Iterable[EpicInput],
    kpis: Mapping[str, KpiInput],
    planned_costs: Mapping[str, Decimal],
    currency: str,
) -> tuple[EpicBenefit, ...]:
    """Per epic: realized, run-rate and payback from its rounded money lines."""
    money_lines: dict[str, list[BenefitLine]] = defaultdict(list)
    for line in lines:
        if line.benefit is not None:
            money_lines[line.epic_id].append(line)
    out: list[EpicBenefit] = []
    for epic in sorted(epics, key=lambda e: (e.key, e.id)):
        own = money_lines.get(epic.id, [])
        per_kpi: list[EpicKpiBenefit] = []
        for slug in sorted({line.kpi for line in own}):
            kpi_lines = [line for line in own if line.kpi == slug]
            latest = max(kpi_lines, key=lambda line: _period_key(line.period))
            assert latest.benefit is not None
            per_kpi.append(
                EpicKpiBenefit(
                    kpi=slug,
                    realized=sum((line.benefit or ZERO_MONEY for line in kpi_lines), ZERO_MONEY),
                    run_rate=latest.benefit * periods_per_year(kpis[slug].cadence),
                    latest_period=latest.period,
                )
            )
        cost = planned_costs.get(epic.id)
        out.append(
            EpicBenefit(
                epic_id=epic.id,
                epic_key=epic.key,
                currency=currency,
                realized=sum((k.realized for k in per_kpi), ZERO_MONEY),
                run_rate=sum((k.run_rate for k in per_kpi), ZERO_MONEY),
                latest_period=max((line.period for line in own), key=_period_key, default=None),
                planned_cost=cost,
                payback_period=_payback(own, cost),
                kpis=tuple(per_kpi),
            )
        )
    return tuple(out)


def run_totals(
    lines: tuple[BenefitLine, ...],
    unattributed: tuple[UnattributedLine, ...],
    gaps: tuple[Gap, ...],
    kpis: Mapping[str, KpiInput],
    currency: str,
) -> RunTotals:
    by_stream: dict[str, Decimal] = defaultdict(lambda: ZERO_MONEY)
    for line in lines:
        if line.benefit is not None:
            by_stream[kpis[line.kpi].stream] += line.benefit
    return RunTotals(
        currency=currency,
        benefit=sum(by_stream.values(), ZERO_MONEY),
        unattributed=sum((u.amount for u in unattributed if u.amount is not None), ZERO_MONEY),
        lines=len(lines),
        gaps=len(gaps),
        by_stream=tuple(StreamTotal(s, by_stream[s]) for s in sorted(by_stream)),
    )


def engine_context() -> AbstractContextManager[Context]:
    """Decimal arithmetic for the engine: 50 significant digits, half-even.

    50 digits keep every intermediate (8,000,000 / 12 x 0.4 x 0.8 x 0.6 ...) exact far below
    a cent, so the single rounding per line is the only one that matters.
    """
    return localcontext(Context(prec=50, rounding=ROUND_HALF_EVEN))
