"""The engine's line computation as it was before the per-(KPI, period) restructuring
(commit c775233), kept verbatim as a reference: `test_engine_equivalence.py` checks that the
current engine gives byte-identical results on random inputs. Not used by the service.

`legacy_compute` returns the RunResult fields as a dict (lines as a tuple of BenefitLine).
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from attribution.engine.checks import check_inputs
from attribution.engine.errors import InputError, Problem
from attribution.engine.inputs import (
    ContributionInput,
    EpicInput,
    KpiInput,
    Snapshot,
    input_hash,
)
from attribution.engine.periods import (
    Period,
    PeriodError,
    months_per_period,
    parse_period,
    periods_covering,
    periods_per_year,
)
from attribution.engine.results import (
    ZERO_MONEY,
    BenefitLine,
    EpicBenefit,
    EpicKpiBenefit,
    Gap,
    RunTotals,
    RunWarning,
    StreamTotal,
    UnattributedLine,
    engine_context,
    report_decimal,
    round_money,
)
from attribution.engine.rules import (
    EffectiveRules,
    RulesDocument,
    content_hash,
    parse_rules,
    resolve,
)
from attribution.engine.shares import split_shares
from attribution.engine.uplift import Baselines, find_baselines, ramp_factor, uplift_at


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
        self.lines: list[BenefitLine] = []
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
        # Per-KPI memos: epics sharing a baseline (or a start date) share the uplift (or
        # the ramp factor) of a period; computing them once per KPI is the same arithmetic.
        self.uplifts: dict[tuple[Decimal, Decimal | None, str], Decimal] = {}
        self.factors: dict[tuple[date | None, str], Decimal] = {}
        values = self.values[kpi.slug]
        periods = self.measured_periods(kpi, rules)
        per_period = self.value_per_period(kpi, rules)
        shares = split_shares(rules.split, kpi.slug, contributions, self.epics)
        self.warnings.update(shares.warnings)
        if rules.cap_at_target and kpi.target is None:
            self.warnings.add(
                RunWarning("no_target", "cap_at_target is on but the KPI has no target", kpi.slug)
            )
        for c in contributions:
            epic = self.epics[c.epic_id]
            baselines = find_baselines(kpi, rules, epic, values)
            if isinstance(baselines, RunWarning):
                self.warnings.add(baselines)
                continue
            self.epic_lines(
                kpi, rules, epic, baselines, shares.by_epic[c.epic_id], per_period, periods
            )
        self.unattributed_lines(kpi, rules, shares.unattributed, per_period, periods)

    def epic_lines(
        self,
        kpi: KpiInput,
        rules: EffectiveRules,
        epic: EpicInput,
        baselines: Baselines,
        share: Decimal,
        per_period: Decimal | None,
        periods: list[str],
    ) -> None:
        if epic.start_date is None and (rules.lag_periods or rules.ramp):
            self.warnings.add(
                RunWarning(
                    "no_start_date",
                    "the epic has no start_date: lag_periods and ramp not applied",
                    kpi.slug,
                    epic.key,
                )
            )
        values = self.values[kpi.slug]
        for label in periods:
            memo = (baselines.reference, baselines.control, label)
            uplift = self.uplifts.get(memo)
            if uplift is None:
                uplift = self.uplifts[memo] = uplift_at(kpi, rules, baselines, values, label)
            factor = self.factors.get((epic.start_date, label))
            if factor is None:
                factor = ramp_factor(rules, kpi, epic.start_date, parse_period(label))
                self.factors[(epic.start_date, label)] = factor
            value = None if per_period is None else uplift * per_period
            benefit = None
            if value is not None:
                benefit = round_money(value * rules.confidence * share * factor)
            self.lines.append(
                BenefitLine(
                    epic_id=epic.id,
                    epic_key=epic.key,
                    kpi=kpi.slug,
                    period=label,
                    uplift=report_decimal(uplift),
                    share=report_decimal(share),
                    ramp=report_decimal(factor),
                    period_value=None if value is None else round_money(value),
                    benefit=benefit,
                    cumulative=None,
                    currency=self.rules.currency,
                )
            )

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

    def result(self, snapshot: Snapshot) -> dict[str, Any]:
        kpis = {k.slug: k for k in snapshot.kpis}
        lines = with_cumulative(self.lines)
        contributing = {c.epic_id for cs in self.contributions.values() for c in cs}
        unattributed = tuple(
            sorted(self.unattributed, key=lambda u: (parse_period(u.period).sort_key, u.kpi))
        )
        gaps = tuple(sorted(self.gaps, key=lambda g: (parse_period(g.period).sort_key, g.kpi)))
        warnings = tuple(
            sorted(self.warnings, key=lambda w: (w.code, w.kpi or "", w.epic or "", w.message))
        )
        return dict(
            content_hash=content_hash(self.rules),
            input_hash=input_hash(snapshot),
            period_from=str(self.start),
            period_to=str(self.end),
            currency=self.rules.currency,
            lines=lines,
            epics=epic_benefits(
                lines,
                (e for e in self.epics.values() if e.id in contributing),
                kpis,
                self.planned_costs(contributing),
                self.rules.currency,
            ),
            unattributed=unattributed,
            gaps=gaps,
            warnings=warnings,
            totals=run_totals(lines, unattributed, gaps, kpis, self.rules.currency),
        )


def legacy_compute(
    rules: RulesDocument | Mapping[str, Any],
    snapshot: Snapshot,
    period_from: str,
    period_to: str,
) -> dict[str, Any]:
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
        return run.result(ordered)
