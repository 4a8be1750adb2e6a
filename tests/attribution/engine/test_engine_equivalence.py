"""The engine against its previous line-by-line implementation (`legacy_compute.py`).

The engine precomputes per (KPI, period) and per (uplift baseline, share, start date) what
does not depend on the epic; these properties show that it is the same arithmetic: for random
multi-KPI inputs (both cadences, every method, baseline, split, lag/ramp, currency, gaps,
missing values) every output is identical — values *and* their exponents (`repr`), and the
canonical bytes and hashes.
"""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.engine import (
    ContributionInput,
    EpicInput,
    InputError,
    KpiInput,
    MeasurementInput,
    Money,
    Snapshot,
    ValuePerUnit,
    canonical_json,
    compute,
)
from attribution.engine.examples import worked_example_rules, worked_example_snapshot

from .legacy_compute import legacy_compute

MONTHS = [f"2025-{m:02d}" for m in range(10, 13)] + [f"2026-{m:02d}" for m in range(1, 10)]
QUARTERS = ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
STARTS = [date(2025, 11, 3), date(2026, 1, 15), date(2026, 2, 1), date(2026, 4, 30)]
SEGMENTS = ["all", "treatment", "control"]


def dec(lo: int, hi: int, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.integers(lo, hi).map(lambda i: Decimal(i).scaleb(-places))


def rule_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["method"] = draw(st.sampled_from(["baseline_delta", "control_group"]))
    if draw(st.booleans()):
        fields["baseline"] = draw(
            st.sampled_from(["agreed", {"trailing_mean": 1}, {"trailing_mean": 3}])
        )
    if draw(st.booleans()):
        fields["split"] = draw(st.sampled_from(["claimed", "equal", "weighted"]))
    if draw(st.booleans()):
        fields["confidence"] = str(draw(dec(0, 100)))
    for flag in ("cap_at_target", "allow_negative"):
        if draw(st.booleans()):
            fields[flag] = draw(st.booleans())
    if draw(st.booleans()):
        fields["lag_periods"] = draw(st.integers(0, 2))
    if draw(st.booleans()):
        fields["ramp"] = [str(f) for f in draw(st.lists(dec(0, 100), max_size=3))]
    if draw(st.integers(0, 3)) == 0:
        fields["value_per_unit"] = {
            "amount": str(draw(dec(0, 10**9, 3))),
            "currency": draw(st.sampled_from(["USD", "EUR", "GBP"])),
            "per": draw(st.sampled_from(["year", "month"])),
        }
    return fields


@st.composite
def inputs(draw: st.DrawFn) -> tuple[dict[str, Any], Snapshot, str, str]:
    n_kpis = draw(st.integers(1, 4))
    kpis = []
    for k in range(n_kpis):
        vpu = draw(
            st.none()
            | st.builds(
                ValuePerUnit,
                dec(0, 10**9, draw(st.integers(0, 3))),
                st.sampled_from(["USD", "EUR", "GBP"]),
                st.sampled_from(["year", "month"]),
            )
        )
        kpis.append(
            KpiInput(
                slug=f"k{k}",
                stream=draw(st.sampled_from(["Revenue", "Cost"])),
                unit="percent",
                direction=draw(st.sampled_from(["increase", "decrease"])),
                cadence=draw(st.sampled_from(["monthly", "quarterly"])),
                baseline=draw(st.none() | dec(0, 1000, draw(st.integers(0, 3)))),
                target=draw(st.none() | dec(0, 2000)),
                value_per_unit=vpu,
            )
        )
    n_epics = draw(st.integers(1, 7))
    # Few distinct shares and start dates, so epics share the precomputed profiles.
    share_pool = draw(st.lists(dec(0, 30), min_size=1, max_size=3))
    epics = [
        EpicInput(
            id=f"id{e}",
            key=draw(st.sampled_from(["A-1", "B-2", "C-3", "D-4"])) + f"{e % 3}",
            start_date=draw(st.none() | st.sampled_from(STARTS)),
            planned_cost=draw(
                st.none() | st.builds(Money, dec(0, 10**7), st.sampled_from(["USD", "EUR", "GBP"]))
            ),
        )
        for e in range(n_epics)
    ]
    contributions = []
    for e in epics:
        for kpi in kpis:
            if draw(st.integers(0, 2)):
                contributions.append(
                    ContributionInput(
                        e.id,
                        kpi.slug,
                        expected_uplift=draw(st.none() | dec(-500, 500)),
                        claimed_share=draw(st.none() | st.sampled_from(share_pool)),
                    )
                )
    measurements = []
    for kpi in kpis:
        labels = MONTHS if kpi.cadence == "monthly" else QUARTERS
        for label in labels:
            for segment in SEGMENTS:
                if draw(st.integers(0, 5)):
                    value = draw(dec(-2000, 2000, draw(st.integers(0, 3))))
                    measurements.append(MeasurementInput(kpi.slug, label, value, segment))
    rules: dict[str, Any] = {
        "currency": "USD",
        "fx": {"EUR": "1.08", "GBP": "1.2675"},
        "defaults": rule_fields(draw),
        "kpis": {kpi.slug: rule_fields(draw) for kpi in kpis if draw(st.booleans())},
    }
    start, end = draw(
        st.sampled_from(
            [
                ("2026-01", "2026-06"),
                ("2026-02", "2026-08"),
                ("2026-Q1", "2026-Q3"),
                ("2025-12", "2026-12"),
                ("2026-03", "2026-03"),
            ]
        )
    )
    snapshot = Snapshot(tuple(kpis), tuple(epics), tuple(contributions), tuple(measurements))
    return rules, snapshot, start, end


def assert_same(rules: dict[str, Any], snapshot: Snapshot, start: str, end: str) -> None:
    try:
        old = legacy_compute(rules, snapshot, start, end)
    except InputError as exc:
        problems = exc.problems
        with pytest.raises(InputError) as refused:
            compute(rules, snapshot, start, end)
        assert refused.value.problems == problems
        return
    new = compute(rules, snapshot, start, end)
    # repr, not ==: Decimal("1.0") == Decimal("1"), but stored text differs.
    assert [repr(line) for line in new.lines] == [repr(line) for line in old["lines"]]
    assert repr(new.epics) == repr(old["epics"])
    assert repr(new.totals) == repr(old["totals"])
    assert repr(new.unattributed) == repr(old["unattributed"])
    assert new.gaps == old["gaps"]
    assert new.warnings == old["warnings"]
    assert new.to_canonical() == canonical_json(old)
    assert len(new.lines) == len(old["lines"])


@settings(max_examples=150, deadline=None)
@given(inputs())
def test_engine_matches_the_line_by_line_reference(
    case: tuple[dict[str, Any], Snapshot, str, str],
) -> None:
    assert_same(*case)


def test_worked_example_matches_the_reference() -> None:
    assert_same(worked_example_rules(), worked_example_snapshot(), "2026-03", "2026-06")
