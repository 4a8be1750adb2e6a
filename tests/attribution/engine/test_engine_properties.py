"""Properties that must hold for any inputs, not just the examples finance wrote down."""

import json
import random
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.engine import (
    Cadence,
    ContributionInput,
    Direction,
    EpicInput,
    KpiInput,
    MeasurementInput,
    Money,
    RunResult,
    Snapshot,
    ValuePerUnit,
    compute,
    content_hash,
    input_hash,
)

PERIODS = {
    "monthly": [f"2026-0{m}" for m in range(1, 7)],
    "quarterly": ["2026-Q1", "2026-Q2"],
}
CADENCES: tuple[Cadence, ...] = ("monthly", "quarterly")
DIRECTIONS: tuple[Direction, ...] = ("increase", "decrease")
FX = {"USD": Decimal(1), "EUR": Decimal("1.08")}
START_DATES = [date(2025, 12, 1), date(2026, 1, 15), date(2026, 3, 31), date(2026, 5, 2)]
PROPERTY_SETTINGS = settings(max_examples=75, deadline=None)


def cents(lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo, hi).map(lambda i: Decimal(i) / 100)


@dataclass(frozen=True)
class Scenario:
    rules: dict[str, Any]
    snapshot: Snapshot


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    cadence: Cadence = draw(st.sampled_from(CADENCES))
    vpu = ValuePerUnit(
        Decimal(draw(st.integers(0, 10_000_000))),
        draw(st.sampled_from(sorted(FX))),
        draw(st.sampled_from(["year", "month"])),
    )
    kpi = KpiInput(
        slug="k",
        stream="Revenue",
        unit="percent",
        direction=draw(st.sampled_from(DIRECTIONS)),
        cadence=cadence,
        baseline=draw(cents(0, 1000)),
        target=draw(st.none() | cents(0, 2000)),
        value_per_unit=vpu,
    )
    n = draw(st.integers(1, 5))
    raw = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    total = max(sum(raw), 100)
    # Integer division keeps the claimed shares' sum at or below 1 (the overlap guard).
    claimed = [Decimal(r * 100 // total) / 100 for r in raw]
    epics, contributions = [], []
    for i in range(n):
        epics.append(
            EpicInput(
                id=f"id-{i}",
                key=f"E-{i}",
                start_date=draw(st.none() | st.sampled_from(START_DATES)),
                planned_cost=draw(st.none() | st.builds(Money, cents(0, 10**9), st.just("EUR"))),
            )
        )
        contributions.append(
            ContributionInput(
                f"id-{i}",
                "k",
                expected_uplift=draw(st.none() | cents(-500, 500)),
                claimed_share=None if draw(st.booleans()) and i % 2 else claimed[i],
            )
        )
    measured = draw(st.lists(st.sampled_from(PERIODS[cadence]), unique=True))
    measurements = [MeasurementInput("k", p, draw(cents(0, 2000))) for p in measured]
    rules = {
        "currency": "USD",
        "fx": {"EUR": "1.08"},
        "defaults": {
            "split": draw(st.sampled_from(["claimed", "equal", "weighted"])),
            "confidence": str(draw(cents(0, 100))),
            "cap_at_target": draw(st.booleans()),
            "allow_negative": draw(st.booleans()),
            "lag_periods": draw(st.integers(0, 2)),
            "ramp": [str(f) for f in draw(st.lists(cents(0, 100), max_size=3))],
        },
    }
    snapshot = Snapshot(
        kpis=(kpi,),
        epics=tuple(epics),
        contributions=tuple(contributions),
        measurements=tuple(measurements),
    )
    return Scenario(rules, snapshot)


def run(scenario: Scenario, snapshot: Snapshot | None = None) -> RunResult:
    return compute(scenario.rules, snapshot or scenario.snapshot, "2026-01", "2026-06")


def expected_period_value(scenario: Scenario, value: Decimal) -> Decimal:
    """attribution.md steps 2-3 and the confidence, written out independently."""
    kpi = scenario.snapshot.kpis[0]
    d = scenario.rules["defaults"]
    assert kpi.baseline is not None and kpi.value_per_unit is not None
    sign = 1 if kpi.direction == "increase" else -1
    uplift = sign * (value - kpi.baseline)
    if d["cap_at_target"] and kpi.target is not None:
        uplift = min(uplift, max(Decimal(0), sign * (kpi.target - kpi.baseline)))
    if not d["allow_negative"]:
        uplift = max(uplift, Decimal(0))
    vpu = kpi.value_per_unit
    per_year = 12 if kpi.cadence == "monthly" else 4
    per_period = vpu.amount / per_year if vpu.per == "year" else vpu.amount * (12 // per_year)
    return uplift * per_period * FX[vpu.currency] * Decimal(d["confidence"])


@PROPERTY_SETTINGS
@given(scenarios())
def test_attributed_benefit_never_exceeds_the_period_value(scenario: Scenario) -> None:
    result = run(scenario)
    values = {m.period: m.value for m in scenario.snapshot.measurements}
    with localcontext() as ctx:
        ctx.prec = 50
        for period, value in values.items():
            lines = [line for line in result.lines if line.period == period]
            assert len(lines) == len(scenario.snapshot.epics)
            attributed = sum((line.benefit or Decimal(0) for line in lines), Decimal(0))
            ceiling = abs(expected_period_value(scenario, value))
            assert abs(attributed) <= ceiling + Decimal("0.005") * len(lines)
    assert {g.period for g in result.gaps}.isdisjoint(values)


@PROPERTY_SETTINGS
@given(scenarios())
def test_no_negative_line_unless_allowed(scenario: Scenario) -> None:
    result = run(scenario)
    if not scenario.rules["defaults"]["allow_negative"]:
        assert all(line.benefit is not None and line.benefit >= 0 for line in result.lines)
        assert all(line.uplift >= 0 for line in result.lines)
        assert all(e.realized >= 0 and e.run_rate >= 0 for e in result.epics)


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_order_of_the_snapshot_does_not_matter(scenario: Scenario, rng: random.Random) -> None:
    def shuffled(rows: tuple[Any, ...]) -> tuple[Any, ...]:
        items = list(rows)
        rng.shuffle(items)
        return tuple(items)

    snap = scenario.snapshot
    reordered = replace(
        snap,
        epics=shuffled(snap.epics),
        contributions=shuffled(snap.contributions),
        measurements=shuffled(snap.measurements),
    )
    assert input_hash(reordered) == input_hash(snap)
    assert run(scenario, reordered).to_canonical() == run(scenario).to_canonical()


@PROPERTY_SETTINGS
@given(scenarios())
def test_same_inputs_give_byte_identical_output(scenario: Scenario) -> None:
    first, second = run(scenario), run(scenario)
    assert first.to_canonical() == second.to_canonical()
    assert (first.lines_hash, first.result_hash) == (second.lines_hash, second.result_hash)
    assert first.content_hash == content_hash(json.loads(json.dumps(scenario.rules)))
    # verify recomputes from the stored snapshot: the JSON round trip must change nothing.
    stored = Snapshot.from_dict(json.loads(json.dumps(scenario.snapshot.to_dict())))
    assert run(scenario, stored).to_canonical() == first.to_canonical()


@PROPERTY_SETTINGS
@given(scenarios())
def test_totals_add_up_from_the_rounded_lines(scenario: Scenario) -> None:
    result = run(scenario)
    money = [line.benefit for line in result.lines if line.benefit is not None]
    assert result.totals.benefit == sum(money, Decimal("0.00"))
    assert sum((e.realized for e in result.epics), Decimal(0)) == result.totals.benefit
    for line in result.lines:
        assert line.benefit is None or line.benefit.as_tuple().exponent == -2
