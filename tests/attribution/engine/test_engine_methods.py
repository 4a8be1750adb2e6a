"""Baselines, methods, direction, caps, negatives, lag/ramp, cadences and currencies."""

from datetime import date
from decimal import Decimal as D
from typing import Any

from attribution.engine import (
    ContributionInput,
    EpicInput,
    KpiInput,
    MeasurementInput,
    Money,
    RunResult,
    Snapshot,
    ValuePerUnit,
    compute,
)


def _rules(kpi: dict[str, Any] | None = None, **defaults: Any) -> dict[str, Any]:
    return {
        "currency": "USD",
        "fx": {"EUR": "1.08"},
        "defaults": {"confidence": "1", **defaults},
        "kpis": {"k": kpi or {}},
    }


def _kpi(**overrides: Any) -> KpiInput:
    fields: dict[str, Any] = {
        "slug": "k",
        "stream": "Revenue",
        "unit": "percent",
        "direction": "increase",
        "cadence": "monthly",
        "baseline": D("2.0"),
        "target": None,
        "value_per_unit": ValuePerUnit(D("1200000"), "USD", "year"),  # 100,000 a month
    }
    fields.update(overrides)
    return KpiInput(**fields)


def _snapshot(
    kpi: KpiInput,
    values: dict[str, str],
    epics: list[EpicInput] | None = None,
    shares: list[str | None] | None = None,
    segment: str = "all",
) -> Snapshot:
    epics = epics or [EpicInput(id="e1", key="E-1")]
    shares = shares or ["1"] * len(epics)
    return Snapshot(
        kpis=(kpi,),
        epics=tuple(epics),
        contributions=tuple(
            ContributionInput(e.id, kpi.slug, claimed_share=None if s is None else D(s))
            for e, s in zip(epics, shares, strict=True)
        ),
        measurements=tuple(
            MeasurementInput(kpi.slug, period, D(value), segment)
            for period, value in values.items()
        ),
    )


def _benefits(result: RunResult, epic: str = "E-1") -> dict[str, D | None]:
    return {line.period: line.benefit for line in result.lines if line.epic_key == epic}


def _codes(result: RunResult) -> set[str]:
    return {w.code for w in result.warnings}


def test_decrease_kpi_counts_going_down_and_caps_at_target() -> None:
    kpi = _kpi(
        slug="cost-per-ticket",
        stream="Cost",
        unit="currency",
        direction="decrease",
        baseline=D("6.40"),
        target=D("4.80"),
        value_per_unit=ValuePerUnit(D("120000"), "USD", "month"),
    )
    epics = [EpicInput(id="a", key="SUP-1"), EpicInput(id="b", key="SUP-2")]
    values = {"2026-01": "6.00", "2026-02": "4.50", "2026-03": "6.60"}
    snap = _snapshot(kpi, values, epics, shares=[None, None])
    rules = {"currency": "USD", "kpis": {"cost-per-ticket": {"split": "equal"}}}
    result = compute(rules, snap, "2026-01", "2026-03")
    # 0.40 x 120,000 / 2; 1.90 capped at 1.60 -> 192,000 / 2; worse than baseline -> 0.
    assert _benefits(result, "SUP-1") == {
        "2026-01": D("24000.00"),
        "2026-02": D("96000.00"),
        "2026-03": D("0.00"),
    }
    assert [line.uplift for line in result.lines if line.epic_key == "SUP-2"] == [
        D("0.4"),
        D("1.6"),
        D("0"),
    ]
    assert result.totals.by_stream[0].stream == "Cost"


def test_quarterly_kpi_per_year_and_per_month() -> None:
    kpi = _kpi(
        cadence="quarterly",
        baseline=D("10"),
        target=D("20"),
        value_per_unit=ValuePerUnit(D("1000000"), "USD", "year"),
    )
    snap = _snapshot(kpi, {"2026-Q1": "12", "2026-Q2": "14"}, shares=["0.5"])
    result = compute(_rules(confidence="0.8"), snap, "2026-01", "2026-06")
    # 1,000,000 / 4 per quarter x uplift 2 and 4 x 0.8 x 0.5
    assert _benefits(result) == {"2026-Q1": D("200000.00"), "2026-Q2": D("400000.00")}
    [epic] = result.epics
    assert epic.run_rate == D("1600000.00")  # x 4, not x 12
    per_month = compute(
        _rules({"value_per_unit": {"amount": "10000", "currency": "USD", "per": "month"}}),
        snap,
        "2026-Q1",
        "2026-Q1",
    )
    assert _benefits(per_month) == {"2026-Q1": D("30000.00")}  # 10,000 x 3 months x 2 x 0.5


def test_control_group_difference_in_differences() -> None:
    kpi = _kpi(target=D("7"), value_per_unit=ValuePerUnit(D("12000"), "USD", "year"))
    started = EpicInput(id="e1", key="E-1", start_date=date(2026, 3, 10))
    unstarted = EpicInput(id="e2", key="E-2")
    measurements = [
        ("2026-02", "treatment", "5.0"),
        ("2026-02", "control", "4.0"),
        ("2026-03", "treatment", "5.6"),
        ("2026-03", "control", "4.1"),
        ("2026-04", "treatment", "6.2"),
        ("2026-04", "control", "4.2"),
        ("2026-05", "treatment", "6.5"),
        ("2026-05", "all", "6.0"),
    ]
    snap = Snapshot(
        kpis=(kpi,),
        epics=(started, unstarted),
        contributions=(
            ContributionInput("e1", "k", claimed_share=D("0.5")),
            ContributionInput("e2", "k", claimed_share=D("0.5")),
        ),
        measurements=tuple(MeasurementInput("k", p, D(v), s) for p, s, v in measurements),
    )
    result = compute(_rules(method="control_group"), snap, "2026-03", "2026-05")
    # (5.6-5.0)-(4.1-4.0) = 0.5 and (6.2-5.0)-(4.2-4.0) = 1.0; 1,000 a month; share 0.5
    assert _benefits(result) == {"2026-03": D("250.00"), "2026-04": D("500.00")}
    assert [line.uplift for line in result.lines] == [D("0.5"), D("1")]
    assert [(g.period, g.missing_segments) for g in result.gaps] == [("2026-05", ("control",))]
    assert ("no_start_date", "E-2") in {(w.code, w.epic) for w in result.warnings}
    # Per-epic baselines: the unattributed share is reported without an amount.
    assert result.unattributed == ()  # 0.5 + 0.5 claimed


def test_control_group_without_pre_period_data_warns() -> None:
    kpi = _kpi()
    epic = EpicInput(id="e1", key="E-1", start_date=date(2026, 3, 1))
    snap = _snapshot(kpi, {"2026-03": "3"}, [epic], segment="treatment")
    result = compute(_rules(method="control_group"), snap, "2026-03", "2026-03")
    assert result.lines == ()
    assert "baseline_data_missing" in _codes(result)


def test_trailing_mean_baseline_per_epic() -> None:
    kpi = _kpi(target=D("3.3"), value_per_unit=ValuePerUnit(D("12000000"), "USD", "year"))
    early = EpicInput(id="e2", key="E-2", start_date=date(2026, 2, 1))
    late = EpicInput(id="e1", key="E-1", start_date=date(2026, 4, 15))
    values = {
        "2026-01": "2.0",
        "2026-02": "2.2",
        "2026-03": "2.3",
        "2026-04": "2.5",
        "2026-05": "3.0",
    }
    snap = _snapshot(kpi, values, [late, early], shares=["0.6", "0.3"])
    result = compute(_rules(baseline={"trailing_mean": 3}), snap, "2026-03", "2026-05")
    # baseline = (2.0 + 2.2 + 2.3) / 3 = 2.1666…; 1,000,000 a month; share 0.6.
    # 2026-03 precedes the start: ramp 0. Nothing is rounded before the end:
    # 0.3333… x 1,000,000 x 0.6 = 200,000.00 exactly.
    assert _benefits(result) == {
        "2026-03": D("0.00"),
        "2026-04": D("200000.00"),
        "2026-05": D("500000.00"),
    }
    assert [line.uplift for line in result.lines] == [
        D("0.1333333333"),
        D("0.3333333333"),
        D("0.8333333333"),
    ]
    assert [line.ramp for line in result.lines] == [D("0"), D("1"), D("1")]
    # E-2 needs 2025-11..2026-01: two are missing, so no lines and a warning.
    assert {(w.code, w.epic) for w in result.warnings} == {("baseline_data_missing", "E-2")}
    # 0.1 of the KPI is claimed by nobody; with per-epic baselines there is no single amount.
    assert {(u.period, u.share, u.amount) for u in result.unattributed} == {
        ("2026-03", D("0.1"), None),
        ("2026-04", D("0.1"), None),
        ("2026-05", D("0.1"), None),
    }


def test_lag_and_ramp() -> None:
    kpi = _kpi()
    values = {f"2026-0{m}": "3.0" for m in range(1, 7)}
    epic = EpicInput(id="e1", key="E-1", start_date=date(2026, 2, 20))
    rules = _rules(cap_at_target=False, lag_periods=1, ramp=["0.25", "0.5"])
    result = compute(rules, _snapshot(kpi, values, [epic]), "2026-01", "2026-06")
    # start 2026-02, lag 1 -> benefit from 2026-03: 25%, 50%, then 100%.
    assert _benefits(result) == {
        "2026-01": D("0.00"),
        "2026-02": D("0.00"),
        "2026-03": D("25000.00"),
        "2026-04": D("50000.00"),
        "2026-05": D("100000.00"),
        "2026-06": D("100000.00"),
    }
    [summary] = result.epics
    assert summary.realized == D("275000.00")
    assert summary.run_rate == D("1200000.00")
    assert result.warnings == ()


def test_lag_without_start_date_is_not_applied_and_flagged() -> None:
    rules = _rules(cap_at_target=False, lag_periods=2, ramp=["0.5"])
    result = compute(rules, _snapshot(_kpi(), {"2026-01": "3.0"}), "2026-01", "2026-01")
    assert _benefits(result) == {"2026-01": D("100000.00")}
    assert _codes(result) == {"no_start_date"}


def test_cap_at_target_without_target_is_flagged() -> None:
    result = compute(_rules(), _snapshot(_kpi(), {"2026-01": "3.0"}), "2026-01", "2026-01")
    assert _codes(result) == {"no_target"}
    assert _benefits(result) == {"2026-01": D("100000.00")}


def test_cap_is_never_negative() -> None:
    # Target already met at the baseline: no further improvement counts, but the cap
    # alone does not invent a loss.
    kpi = _kpi(target=D("1.5"))
    result = compute(
        _rules(allow_negative=True), _snapshot(kpi, {"2026-01": "3.0"}), "2026-01", "2026-01"
    )
    assert _benefits(result) == {"2026-01": D("0.00")}


def test_allow_negative() -> None:
    snap = _snapshot(_kpi(), {"2026-01": "1.5", "2026-02": "1.9"})
    floored = compute(_rules(), snap, "2026-01", "2026-02")
    assert _benefits(floored) == {"2026-01": D("0.00"), "2026-02": D("0.00")}
    negative = compute(_rules(allow_negative=True), snap, "2026-01", "2026-02")
    assert _benefits(negative) == {"2026-01": D("-50000.00"), "2026-02": D("-10000.00")}
    assert [line.cumulative for line in negative.lines] == [D("-50000.00"), D("-60000.00")]
    assert negative.epics[0].realized == D("-60000.00")
    assert negative.totals.benefit == D("-60000.00")


def test_multi_currency_value_per_unit_and_planned_cost() -> None:
    kpi = _kpi(value_per_unit=ValuePerUnit(D("1000000"), "EUR", "year"))
    epic = EpicInput(id="e1", key="E-1", planned_cost=Money(D("50000"), "EUR"))
    snap = _snapshot(kpi, {"2026-01": "2.5", "2026-02": "2.5"}, [epic])
    result = compute(_rules(confidence="0.8", cap_at_target=False), snap, "2026-01", "2026-02")
    # 1,000,000 EUR / 12 x 1.08 = 90,000 USD a month; x 0.5 uplift x 0.8
    assert _benefits(result) == {"2026-01": D("36000.00"), "2026-02": D("36000.00")}
    assert {line.currency for line in result.lines} == {"USD"}
    [summary] = result.epics
    assert summary.planned_cost == D("54000.00")  # 50,000 EUR x 1.08
    assert summary.payback_period == "2026-02"


def test_rules_value_per_unit_overrides_the_kpis_own() -> None:
    rules = _rules({"value_per_unit": {"amount": "2400000", "currency": "USD", "per": "year"}})
    result = compute(rules, _snapshot(_kpi(), {"2026-01": "3.0"}), "2026-01", "2026-01")
    assert _benefits(result) == {"2026-01": D("200000.00")}


def test_rounding_is_half_even() -> None:
    # uplift 0.0125 x 1,000 a month = period value 12.50; x share 0.01 = 0.125 exactly,
    # which half-even rounds to 0.12 (half-up would give 0.13); x 0.03 = 0.375 -> 0.38.
    kpi = _kpi(value_per_unit=ValuePerUnit(D("12000"), "USD", "year"))
    epics = [EpicInput(id="e1", key="E-1"), EpicInput(id="e2", key="E-2")]
    snap = _snapshot(kpi, {"2026-01": "2.0125"}, epics, shares=["0.01", "0.03"])
    result = compute(_rules(cap_at_target=False), snap, "2026-01", "2026-01")
    assert [line.benefit for line in result.lines] == [D("0.12"), D("0.38")]
    assert result.lines[0].period_value == D("12.50")
    # The unclaimed 0.96 of 12.50 = 12.00, rounded on its own.
    assert [u.amount for u in result.unattributed] == [D("12.00")]
