"""Uplift: how far a KPI moved in the good direction, per finance's method and baseline.

``values`` maps (period, segment) to the measured value of one KPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .inputs import EpicInput, KpiInput
from .periods import Period, period_containing, previous_periods
from .results import RunWarning
from .rules import EffectiveRules

Values = Mapping[tuple[str, str], Decimal]
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class Baselines:
    """What an epic's uplift is measured against."""

    reference: Decimal  # baseline of the measured segment ("all", or "treatment"); caps use it
    control: Decimal | None = None  # control_group only: the control segment's baseline


def direction_sign(kpi: KpiInput) -> Decimal:
    # For a "decrease" KPI (cost per ticket) going down is the improvement.
    return ONE if kpi.direction == "increase" else -ONE


def _period_before_start(kpi: KpiInput, start: date) -> Period:
    return period_containing(start, kpi.cadence).shift(-1)


def find_baselines(
    kpi: KpiInput, rules: EffectiveRules, epic: EpicInput, values: Values
) -> Baselines | RunWarning:
    """The epic's baselines for this KPI, or why there are none (then: no lines)."""
    if rules.method == "control_group":
        if epic.start_date is None:
            return RunWarning(
                "no_start_date",
                "control_group needs the epic's start_date to fix the segment baselines",
                kpi.slug,
                epic.key,
            )
        before = str(_period_before_start(kpi, epic.start_date))
        treatment = values.get((before, "treatment"))
        control = values.get((before, "control"))
        if treatment is None or control is None:
            return RunWarning(
                "baseline_data_missing",
                f"control_group needs treatment and control measurements for {before}",
                kpi.slug,
                epic.key,
            )
        return Baselines(reference=treatment, control=control)
    if rules.baseline == "agreed":
        if kpi.baseline is None:
            return RunWarning(
                "no_agreed_baseline", "the KPI has no agreed baseline: no lines", kpi.slug
            )
        return Baselines(reference=kpi.baseline)
    n = rules.baseline.trailing_mean
    if epic.start_date is None:
        return RunWarning(
            "no_start_date",
            f"trailing_mean baseline needs the epic's start_date (mean of the {n} periods before)",
            kpi.slug,
            epic.key,
        )
    window = [str(p) for p in previous_periods(period_containing(epic.start_date, kpi.cadence), n)]
    found = [values.get((p, "all")) for p in window]
    missing = [p for p, value in zip(window, found, strict=True) if value is None]
    if missing:
        return RunWarning(
            "baseline_data_missing",
            f"trailing_mean baseline lacks measurements for {', '.join(missing)}",
            kpi.slug,
            epic.key,
        )
    return Baselines(reference=sum((v for v in found if v is not None), ZERO) / n)


def uplift_at(
    kpi: KpiInput, rules: EffectiveRules, baselines: Baselines, values: Values, period: str
) -> Decimal:
    """Uplift in one period: method and direction, then ``cap_at_target``, then the floor."""
    sign = direction_sign(kpi)
    if rules.method == "control_group":
        assert baselines.control is not None
        treatment = values[(period, "treatment")] - baselines.reference
        control = values[(period, "control")] - baselines.control
        uplift = sign * (treatment - control)
    else:
        uplift = sign * (values[(period, "all")] - baselines.reference)
    if rules.cap_at_target and kpi.target is not None:
        # A target already met at the baseline leaves nothing to gain: the cap is 0, never
        # negative, so the cap alone cannot turn an improvement into a loss.
        cap = max(ZERO, sign * (kpi.target - baselines.reference))
        uplift = min(uplift, cap)
    if not rules.allow_negative:
        uplift = max(uplift, ZERO)
    return uplift


def ramp_factor(
    rules: EffectiveRules, kpi: KpiInput, start: date | None, period: Period
) -> Decimal:
    """0 before the lag ends, then the ramp fractions in order, then 1.

    The lag counts from the period containing the epic's start date; an epic without a start
    date has nothing to count from, so neither lag nor ramp applies (and a warning says so).
    """
    if start is None:
        return ONE
    first = period_containing(start, kpi.cadence).shift(rules.lag_periods)
    step = period.ordinal - first.ordinal
    if step < 0:
        return ZERO
    if step < len(rules.ramp):
        return rules.ramp[step]
    return ONE
