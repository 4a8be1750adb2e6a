"""``compute``: (rules, snapshot, range) → benefit lines. The whole of attribution.md, step by step.

Per KPI, per period in the range, per contributing epic:

1. the measured value(s) of the period (none → a gap, no line);
2. uplift by ``method`` and ``direction``, then ``cap_at_target``, then ``allow_negative``;
3. period value = uplift × value per unit per period, in the reporting currency;
4. benefit = period value × confidence × share × ramp factor;
5. rounded once, to 0.01 half-even. Everything before runs unrounded at 50 digits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from .checks import check_inputs
from .errors import InputError, Problem
from .inputs import ContributionInput, KpiInput, Snapshot, input_hash
from .periods import (
    Period,
    PeriodError,
    months_per_period,
    parse_period,
    periods_covering,
    periods_per_year,
)
from .results import (
    ZERO_MONEY,
    Gap,
    LineTable,
    RunResult,
    RunWarning,
    Series,
    SeriesValues,
    UnattributedLine,
    engine_context,
    epic_benefits,
    report_decimal,
    round_money,
    run_totals,
)
from .rules import EffectiveRules, RulesDocument, content_hash, parse_rules, resolve
from .shares import split_shares
from .uplift import Baselines, find_baselines, ramp_factor, uplift_at

# Segments each method reads: a period missing any of them is a gap.
_SEGMENTS = {"baseline_delta": ("all",), "control_group": ("treatment", "control")}


def _parse_range(period_from: str, period_to: str) -> tuple[Period, Period]:
    problems: list[Problem] = []
    parsed: list[Period] = []
    for name, text in (("period_from", period_from), ("period_to", period_to)):
        try:
            parsed.append(parse_period(text))
        except PeriodError as exc:
            problems.append(Problem((name,), str(exc), "period"))
    if not problems and parsed[0].first_month > parsed[1].last_month:
        problems.append(Problem(("period_to",), "the range ends before it starts", "period"))
    if problems:
        raise InputError(problems)
    return parsed[0], parsed[1]


def _rate(reporting: str, fx: Mapping[str, Decimal], currency: str) -> Decimal:
    # 1 unit of `currency` = rate x reporting currency (checked to exist before the run).
    return Decimal(1) if currency == reporting else fx[currency]


class _KpiLines:
    """One KPI's lines, computed per what they depend on rather than per epic.

    A line's money is ``period value x confidence x share x ramp``, rounded once. The first
    two factors depend only on the KPI, its uplift baseline and the period; so per baseline
    (one for ``agreed``) the engine computes per period the uplift, the period value and
    ``period value x confidence`` once, and per (baseline, share, start date) the rounded
    benefits and running totals once: every epic that agrees on those shares the result.
    The operations and their order are those of the formula, line by line, so the numbers
    are the same to the last digit (``tests/attribution/engine/test_engine_equivalence.py``
    checks it against the line-by-line implementation).
    """

    def __init__(
        self,
        kpi: KpiInput,
        rules: EffectiveRules,
        values: Mapping[tuple[str, str], Decimal],
        periods: tuple[str, ...],
        per_period: Decimal | None,
        currency: str,
    ) -> None:
        self.kpi, self.rules, self.values = kpi, rules, values
        self.periods, self.per_period, self.currency = periods, per_period, currency
        self.parsed = [parse_period(label) for label in periods]
        self.by_baseline: dict[tuple[Decimal, Decimal | None], _PerPeriod] = {}
        self.factors: dict[date | None, tuple[Decimal, ...]] = {}
        self.profiles: dict[tuple[Decimal, Decimal | None, Decimal, date | None], SeriesValues] = {}

    def per_period_values(self, baselines: Baselines) -> _PerPeriod:
        key = (baselines.reference, baselines.control)
        found = self.by_baseline.get(key)
        if found is None:
            uplifts = [
                uplift_at(self.kpi, self.rules, baselines, self.values, label)
                for label in self.periods
            ]
            reported = tuple(report_decimal(u) for u in uplifts)
            if self.per_period is None:
                found = _PerPeriod(reported, (None,) * len(uplifts), None)
            else:
                money = [u * self.per_period for u in uplifts]  # period value, unrounded
                confidence = self.rules.confidence
                found = _PerPeriod(
                    reported,
                    tuple(round_money(v) for v in money),
                    tuple(v * confidence for v in money),
                )
            self.by_baseline[key] = found
        return found

    def ramp_factors(self, start: date | None) -> tuple[Decimal, ...]:
        found = self.factors.get(start)
        if found is None:
            found = tuple(ramp_factor(self.rules, self.kpi, start, p) for p in self.parsed)
            self.factors[start] = found
        return found

    def values_for(self, baselines: Baselines, share: Decimal, start: date | None) -> SeriesValues:
        """The lines of an epic with these baselines, share and start date (memoized:
        Decimal keys compare by value, and every result below depends only on values)."""
        key = (baselines.reference, baselines.control, share, start)
        found = self.profiles.get(key)
        if found is not None:
            return found
        per = self.per_period_values(baselines)
        factors = self.ramp_factors(start)
        n = len(self.periods)
        benefit: tuple[Decimal | None, ...]
        cumulative: tuple[Decimal | None, ...]
        if per.valued is None:
            benefit = cumulative = (None,) * n
        else:
            # (period value x confidence) x share x factor, left to right as in the formula.
            rounded = [round_money(v * share * f) for v, f in zip(per.valued, factors, strict=True)]
            running = ZERO_MONEY
            totals: list[Decimal] = []
            for b in rounded:
                running += b
                totals.append(running)
            benefit, cumulative = tuple(rounded), tuple(totals)
        found = self.profiles[key] = SeriesValues(
            periods=self.periods,
            uplift=per.uplift,
            share=report_decimal(share),
            ramp=tuple(report_decimal(f) for f in factors),
            period_value=per.period_value,
            benefit=benefit,
            cumulative=cumulative,
            currency=self.currency,
        )
        return found


class _PerPeriod(NamedTuple):
    uplift: tuple[Decimal, ...]  # reported
    period_value: tuple[Decimal | None, ...]  # rounded for display
    valued: tuple[Decimal, ...] | None  # period value x confidence, unrounded; None: no money


class _Run:
    def __init__(self, rules: RulesDocument, snapshot: Snapshot, start: Period, end: Period):
        self.rules = rules
        self.start, self.end = start, end
        self.epics = {e.id: e for e in snapshot.epics}
        self.contributions: dict[str, list[ContributionInput]] = defaultdict(list)
        for c in snapshot.contributions:
            self.contributions[c.kpi].append(c)
        self.values: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
        for m in snapshot.measurements:
            self.values[m.kpi][(m.period, m.segment)] = m.value
        # KPI slug -> (KPI, its measured periods, its series in epic order)
        self.series: dict[str, tuple[KpiInput, tuple[str, ...], tuple[Series, ...]]] = {}
        self.unattributed: list[UnattributedLine] = []
        self.gaps: list[Gap] = []
        self.warnings: set[RunWarning] = set()

    def value_per_period(self, kpi: KpiInput, rules: EffectiveRules) -> Decimal | None:
        """Money one unit of uplift is worth in one of the KPI's periods, reporting currency."""
        vpu = rules.value_per_unit or kpi.value_per_unit
        if vpu is None:
            self.warnings.add(
                RunWarning(
                    "no_value_per_unit",
                    "no value_per_unit in the rules or on the KPI: uplift lines without money",
                    kpi.slug,
                )
            )
            return None
        if vpu.per == "year":
            amount = vpu.amount / periods_per_year(kpi.cadence)
        else:
            amount = vpu.amount * months_per_period(kpi.cadence)
        return amount * _rate(rules.currency, rules.fx, vpu.currency)

    def measured_periods(self, kpi: KpiInput, rules: EffectiveRules) -> list[str]:
        values = self.values[kpi.slug]
        measured: list[str] = []
        for period in periods_covering(self.start, self.end, kpi.cadence):
            label = str(period)
            missing = tuple(s for s in _SEGMENTS[rules.method] if (label, s) not in values)
            if missing:
                self.gaps.append(Gap(kpi.slug, label, missing))
            else:
                measured.append(label)
        return measured

    def compute_kpi(self, kpi: KpiInput) -> None:
        contributions = sorted(
            self.contributions.get(kpi.slug, []),
            key=lambda c: (self.epics[c.epic_id].key, c.epic_id),
        )
        if not contributions:
            return  # nothing to attribute: no lines, and its gaps are nobody's concern here
        rules = resolve(self.rules, kpi.slug)
        values = self.values[kpi.slug]
        periods = self.measured_periods(kpi, rules)
        per_period = self.value_per_period(kpi, rules)
        shares = split_shares(rules.split, kpi.slug, contributions, self.epics)
        self.warnings.update(shares.warnings)
        if rules.cap_at_target and kpi.target is None:
            self.warnings.add(
                RunWarning("no_target", "cap_at_target is on but the KPI has no target", kpi.slug)
            )
        kpi_lines = _KpiLines(kpi, rules, values, tuple(periods), per_period, self.rules.currency)
        series: list[Series] = []
        for c in contributions:
            epic = self.epics[c.epic_id]
            baselines = find_baselines(kpi, rules, epic, values)
            if isinstance(baselines, RunWarning):
                self.warnings.add(baselines)
                continue
            if epic.start_date is None and (rules.lag_periods or rules.ramp):
                self.warnings.add(
                    RunWarning(
                        "no_start_date",
                        "the epic has no start_date: lag_periods and ramp not applied",
                        kpi.slug,
                        epic.key,
                    )
                )
            profile = kpi_lines.values_for(baselines, shares.by_epic[c.epic_id], epic.start_date)
            series.append(Series(epic.id, epic.key, kpi.slug, profile))
        if periods and series:
            self.series[kpi.slug] = (kpi, tuple(periods), tuple(series))
        self.unattributed_lines(kpi, rules, shares.unattributed, per_period, periods)

    def unattributed_lines(
        self,
        kpi: KpiInput,
        rules: EffectiveRules,
        share: Decimal,
        per_period: Decimal | None,
        periods: list[str],
    ) -> None:
        if share == 0:
            return
        # The amount is only well defined when every epic sees the same uplift: the agreed
        # baseline with baseline_delta. Per-epic baselines (trailing_mean, control_group)
        # have no single "KPI value" to take the remainder of.
        same_for_all = rules.method == "baseline_delta" and rules.baseline == "agreed"
        if same_for_all and kpi.baseline is None:
            return  # no agreed baseline: no lines at all (warned)
        values = self.values[kpi.slug]
        for label in periods:
            amount = None
            if same_for_all and per_period is not None:
                assert kpi.baseline is not None
                uplift = uplift_at(kpi, rules, Baselines(kpi.baseline), values, label)
                amount = round_money(uplift * per_period * rules.confidence * share)
            self.unattributed.append(
                UnattributedLine(
                    kpi.slug, label, report_decimal(share), amount, self.rules.currency
                )
            )

    def planned_costs(self, epic_ids: set[str]) -> Mapping[str, Decimal]:
        """Contributing epics' planned costs in the reporting currency, rounded like money."""
        costs: dict[str, Decimal] = {}
        for epic_id in epic_ids:
            cost = self.epics[epic_id].planned_cost
            if cost is not None:
                rate = _rate(self.rules.currency, self.rules.fx, cost.currency)
                costs[epic_id] = round_money(cost.amount * rate)
        return costs

    def line_table(self) -> LineTable:
        """Blocks in line order: by period (chronological across cadences), then KPI slug;
        within a block the KPI's series are already in (epic key, epic id) order."""
        blocks: list[tuple[tuple[int, int], str, int, tuple[Series, ...]]] = []
        for slug, (_, periods, series) in self.series.items():
            for j, label in enumerate(periods):
                blocks.append((parse_period(label).sort_key, slug, j, series))
        blocks.sort(key=lambda b: (b[0], b[1]))
        return LineTable(tuple((j, series) for _, _, j, series in blocks))

    def result(self, hashed: str) -> RunResult:
        contributing = {c.epic_id for cs in self.contributions.values() for c in cs}
        unattributed = tuple(
            sorted(self.unattributed, key=lambda u: (parse_period(u.period).sort_key, u.kpi))
        )
        gaps = tuple(sorted(self.gaps, key=lambda g: (parse_period(g.period).sort_key, g.kpi)))
        warnings = tuple(
            sorted(self.warnings, key=lambda w: (w.code, w.kpi or "", w.epic or "", w.message))
        )
        table = self.line_table()
        # KPIs in slug order, so each epic's series are in KPI order too.
        series = [
            (self.series[slug][0], s) for slug in sorted(self.series) for s in self.series[slug][2]
        ]
        return RunResult(
            content_hash=content_hash(self.rules),
            input_hash=hashed,
            period_from=str(self.start),
            period_to=str(self.end),
            currency=self.rules.currency,
            table=table,
            epics=epic_benefits(
                series,
                (e for e in self.epics.values() if e.id in contributing),
                self.planned_costs(contributing),
                self.rules.currency,
            ),
            unattributed=unattributed,
            gaps=gaps,
            warnings=warnings,
            totals=run_totals(series, len(table), unattributed, gaps, self.rules.currency),
        )


def compute(
    rules: RulesDocument | Mapping[str, Any],
    snapshot: Snapshot,
    period_from: str,
    period_to: str,
) -> RunResult:
    """Benefit lines for every contributing epic x KPI x period from ``period_from`` to
    ``period_to`` (inclusive; either ``YYYY-MM`` or ``YYYY-Qn``; a KPI of the other cadence
    covers the periods that overlap the range).

    Raises :class:`RulesError` for invalid rules and :class:`InputError` when the range or
    the snapshot fails a check. Pure: same arguments, byte-identical ``to_canonical()``.
    """
    document = parse_rules(rules)
    start, end = _parse_range(period_from, period_to)
    with engine_context():
        if problems := check_inputs(document, snapshot):
            raise InputError(problems)
        # Work on the canonical order so nothing depends on how the caller listed rows.
        ordered = snapshot.canonical()
        run = _Run(document, ordered, start, end)
        for kpi in ordered.kpis:
            run.compute_kpi(kpi)
        # The caller's snapshot: it memoizes its canonical bytes (the run stores them too).
        return run.result(input_hash(snapshot))
