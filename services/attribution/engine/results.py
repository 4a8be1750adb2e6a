"""What a run produces, and the totals derived from its lines.

Every number here is derived from the *rounded* lines (cumulative, realized, run-rate,
payback), so a reader can re-add the lines and get the same totals to the cent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from functools import cached_property, lru_cache

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


@dataclass(frozen=True, slots=True, eq=False)  # eq=False: shared, compared by identity
class SeriesValues:
    """One KPI's lines for every epic with the same uplift baseline, share and start date.

    Everything in a line but the epic is a function of (KPI, baseline, share, start date,
    period), so epics that agree on those share one of these: the engine computes each
    benefit once per profile, not once per epic, and a 360k-line run holds a few hundred
    tuples instead of 360k objects. Index ``j`` is the ``j``-th of ``periods``.
    """

    periods: tuple[str, ...]  # the KPI's measured periods in the range, in order
    uplift: tuple[Decimal, ...]  # reported (10 places)
    share: Decimal  # reported (10 places)
    ramp: tuple[Decimal, ...]  # reported
    period_value: tuple[Decimal | None, ...]
    benefit: tuple[Decimal | None, ...]
    cumulative: tuple[Decimal | None, ...]
    currency: str


@dataclass(frozen=True, slots=True)
class Series:
    """One epic x KPI: its lines are ``values`` at each of the KPI's measured periods."""

    epic_id: str
    epic_key: str
    kpi: str
    values: SeriesValues

    def line(self, j: int) -> BenefitLine:
        v = self.values
        return BenefitLine(
            self.epic_id,
            self.epic_key,
            self.kpi,
            v.periods[j],
            v.uplift[j],
            v.share,
            v.ramp[j],
            v.period_value[j],
            v.benefit[j],
            v.cumulative[j],
            v.currency,
        )


class LineTable:
    """The run's lines, compactly, in their final order (period, KPI, epic key, epic id).

    ``blocks`` is that order: for each period, each KPI measured in it, ``(j, series)`` —
    line ``j`` of each of the KPI's series (already in epic order). Iterating yields
    :class:`BenefitLine` objects; bulk consumers (the run store) read ``blocks`` directly.
    """

    __slots__ = ("blocks", "count")

    def __init__(self, blocks: tuple[tuple[int, tuple[Series, ...]], ...]) -> None:
        self.blocks = blocks
        self.count = sum(len(series) for _, series in blocks)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[BenefitLine]:
        for j, series in self.blocks:
            for s in series:
                yield s.line(j)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LineTable):
            return NotImplemented
        return self.count == other.count and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class RunResult:
    content_hash: str
    input_hash: str
    period_from: str
    period_to: str
    currency: str
    table: LineTable  # the lines; ``lines`` gives them as BenefitLine objects
    epics: tuple[EpicBenefit, ...]
    unattributed: tuple[UnattributedLine, ...]
    gaps: tuple[Gap, ...]
    warnings: tuple[RunWarning, ...]
    totals: RunTotals

    @cached_property
    def lines(self) -> tuple[BenefitLine, ...]:
        """Every line, sorted by (period, KPI, epic key)."""
        return tuple(self.table)

    def to_canonical(self) -> bytes:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del fields["table"]
        return canonical_json({**fields, "lines": self.lines})

    @property
    def lines_hash(self) -> str:
        """sha256 hex of the canonical JSON of the lines."""
        return sha256_hex(canonical_json(self.lines))

    @property
    def result_hash(self) -> str:
        return sha256_hex(self.to_canonical())


def engine_context() -> AbstractContextManager[Context]:
    """Decimal arithmetic for the engine: 50 significant digits, half-even.

    50 digits keep every intermediate (8,000,000 / 12 x 0.4 x 0.8 x 0.6 ...) exact far below
    a cent, so the single rounding per line is the only one that matters.
    """
    return localcontext(Context(prec=50, rounding=ROUND_HALF_EVEN))


def _payback(own: list[tuple[KpiInput, SeriesValues]], cost: Decimal | None) -> str | None:
    """First period whose cumulative benefit over all the epic's KPIs reaches ``cost``."""
    if cost is None:
        return None
    if len(own) == 1:  # one KPI: its running total is the cumulative benefit
        values = own[0][1]
        for label, cumulative in zip(values.periods, values.cumulative, strict=True):
            assert cumulative is not None
            if cumulative >= cost:
                return label
        return None
    by_period: dict[str, Decimal] = {}
    keys: dict[str, tuple[int, int]] = {}
    for _, values in own:
        for label, benefit in zip(values.periods, values.benefit, strict=True):
            assert benefit is not None
            by_period[label] = by_period.get(label, ZERO_MONEY) + benefit
            keys[label] = parse_period(label).sort_key
    cumulative = ZERO_MONEY
    for label in sorted(by_period, key=keys.__getitem__):
        cumulative += by_period[label]
        if cumulative >= cost:
            return label
    return None


def epic_benefits(
    series: Iterable[tuple[KpiInput, Series]],
    epics: Iterable[EpicInput],
    planned_costs: Mapping[str, Decimal],
    currency: str,
) -> tuple[EpicBenefit, ...]:
    """Per epic: realized, run-rate and payback from its rounded money lines.

    ``series`` in KPI order. A series' realized is its last running total (the sum of its
    lines, in order); its run-rate is its latest line annualized.
    """
    money: dict[str, list[tuple[KpiInput, SeriesValues]]] = {}
    for kpi, s in series:
        values = s.values
        if values.periods and values.benefit[0] is not None:
            money.setdefault(s.epic_id, []).append((kpi, values))
    out: list[EpicBenefit] = []
    for epic in sorted(epics, key=lambda e: (e.key, e.id)):
        own = money.get(epic.id, [])
        per_kpi: list[EpicKpiBenefit] = []
        for kpi, values in own:
            realized, latest = values.cumulative[-1], values.benefit[-1]
            assert realized is not None and latest is not None
            per_kpi.append(
                EpicKpiBenefit(
                    kpi=kpi.slug,
                    realized=realized,
                    run_rate=latest * periods_per_year(kpi.cadence),
                    latest_period=values.periods[-1],
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
                latest_period=max(
                    (v.periods[-1] for _, v in own),
                    key=lambda p: parse_period(p).sort_key,
                    default=None,
                ),
                planned_cost=cost,
                payback_period=_payback(own, cost),
                kpis=tuple(per_kpi),
            )
        )
    return tuple(out)


def run_totals(
    series: Iterable[tuple[KpiInput, Series]],
    lines: int,
    unattributed: tuple[UnattributedLine, ...],
    gaps: tuple[Gap, ...],
    currency: str,
) -> RunTotals:
    """Sums of the rounded lines, by the KPI's stream. Sums of cents are exact at 50 digits
    (below 10^48), so adding each series' total equals adding its lines one by one."""
    by_stream: dict[str, Decimal] = {}
    for kpi, s in series:
        values = s.values
        if values.periods and values.cumulative[-1] is not None:
            by_stream[kpi.stream] = by_stream.get(kpi.stream, ZERO_MONEY) + values.cumulative[-1]
    return RunTotals(
        currency=currency,
        benefit=sum(by_stream.values(), ZERO_MONEY),
        unattributed=sum((u.amount for u in unattributed if u.amount is not None), ZERO_MONEY),
        lines=lines,
        gaps=len(gaps),
        by_stream=tuple(StreamTotal(s, by_stream[s]) for s in sorted(by_stream)),
    )
