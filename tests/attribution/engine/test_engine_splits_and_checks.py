"""Splits, gaps, KPIs without money, the pre-run checks, and the snapshot's canonical form."""

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from attribution.engine import (
    ContributionInput,
    EpicInput,
    InputError,
    KpiInput,
    MeasurementInput,
    Money,
    Snapshot,
    ValuePerUnit,
    check_inputs,
    compute,
    input_hash,
    parse_rules,
)


def _kpi(**overrides: Any) -> KpiInput:
    fields: dict[str, Any] = {
        "slug": "k",
        "stream": "Revenue",
        "unit": "percent",
        "direction": "increase",
        "cadence": "monthly",
        "baseline": D("2"),
        "target": D("10"),
        "value_per_unit": ValuePerUnit(D("1200000"), "USD", "year"),  # 100,000 a month
    }
    fields.update(overrides)
    return KpiInput(**fields)


def _snapshot(
    contributions: list[ContributionInput],
    values: dict[str, str] | None = None,
    kpi: KpiInput | None = None,
) -> Snapshot:
    epic_ids = sorted({c.epic_id for c in contributions})
    return Snapshot(
        kpis=(kpi or _kpi(),),
        epics=tuple(EpicInput(id=i, key=i.upper()) for i in epic_ids),
        contributions=tuple(contributions),
        measurements=tuple(
            MeasurementInput("k", p, D(v)) for p, v in (values or {"2026-01": "3"}).items()
        ),
    )


def _rules(split: str = "claimed", **kpi: Any) -> dict[str, Any]:
    return {"currency": "USD", "defaults": {"split": split}, "kpis": {"k": kpi}}


def _by_epic(result: Any) -> dict[str, D | None]:
    return {line.epic_key: line.benefit for line in result.lines}


def test_equal_split() -> None:
    snap = _snapshot([ContributionInput(e, "k") for e in ("a", "b", "c")])
    result = compute(_rules("equal"), snap, "2026-01", "2026-01")
    assert _by_epic(result) == {"A": D("33333.33"), "B": D("33333.33"), "C": D("33333.33")}
    assert [line.share for line in result.lines] == [D("0.3333333333")] * 3
    assert result.unattributed == ()
    assert result.warnings == ()


def test_weighted_split() -> None:
    snap = _snapshot(
        [
            ContributionInput("a", "k", expected_uplift=D("0.3")),
            ContributionInput("b", "k", expected_uplift=D("0.1")),
            ContributionInput("c", "k"),
        ]
    )
    result = compute(_rules("weighted"), snap, "2026-01", "2026-01")
    assert _by_epic(result) == {"A": D("75000.00"), "B": D("25000.00"), "C": D("0.00")}
    assert {(w.code, w.epic) for w in result.warnings} == {("expected_uplift_missing", "C")}


def test_weighted_split_without_any_expected_uplift() -> None:
    snap = _snapshot([ContributionInput("a", "k"), ContributionInput("b", "k")])
    result = compute(_rules("weighted"), snap, "2026-01", "2026-01")
    assert _by_epic(result) == {"A": D("0.00"), "B": D("0.00")}
    assert {w.code for w in result.warnings} == {"expected_uplift_missing", "no_expected_uplift"}
    assert [(u.share, u.amount) for u in result.unattributed] == [(D("1"), D("100000.00"))]
    assert result.totals.unattributed == D("100000.00")


def test_claimed_split_with_a_missing_claim() -> None:
    snap = _snapshot(
        [ContributionInput("a", "k", claimed_share=D("0.25")), ContributionInput("b", "k")]
    )
    result = compute(_rules(), snap, "2026-01", "2026-01")
    assert _by_epic(result) == {"A": D("25000.00"), "B": D("0.00")}
    assert {(w.code, w.epic) for w in result.warnings} == {("claimed_share_missing", "B")}
    assert [(u.period, u.share, u.amount) for u in result.unattributed] == [
        ("2026-01", D("0.75"), D("75000.00"))
    ]


def test_gaps_yield_no_line() -> None:
    snap = _snapshot(
        [ContributionInput("a", "k", claimed_share=D("1"))],
        {"2026-01": "3", "2026-03": "4"},
    )
    result = compute(_rules(), snap, "2026-01", "2026-04")
    assert [line.period for line in result.lines] == ["2026-01", "2026-03"]
    assert [(g.kpi, g.period, g.missing_segments) for g in result.gaps] == [
        ("k", "2026-02", ("all",)),
        ("k", "2026-04", ("all",)),
    ]
    assert [line.cumulative for line in result.lines] == [D("100000.00"), D("300000.00")]
    # Run-rate comes from the latest period that has a line.
    assert result.epics[0].latest_period == "2026-03"
    assert result.epics[0].run_rate == D("2400000.00")
    assert result.totals.gaps == 2


def test_kpi_without_value_per_unit_gets_uplift_lines_without_money() -> None:
    snap = _snapshot(
        [ContributionInput("a", "k", claimed_share=D("0.5"))], kpi=_kpi(value_per_unit=None)
    )
    result = compute(_rules(), snap, "2026-01", "2026-01")
    [line] = result.lines
    assert (line.uplift, line.share, line.benefit, line.cumulative, line.period_value) == (
        D("1"),
        D("0.5"),
        None,
        None,
        None,
    )
    assert {w.code for w in result.warnings} == {"no_value_per_unit"}
    assert result.epics[0].realized == D("0.00")
    assert [(u.share, u.amount) for u in result.unattributed] == [(D("0.5"), None)]


def test_agreed_baseline_missing_means_no_lines() -> None:
    snap = _snapshot([ContributionInput("a", "k")], kpi=_kpi(baseline=None))
    result = compute(_rules("equal"), snap, "2026-01", "2026-01")
    assert result.lines == ()
    assert {w.code for w in result.warnings} == {"no_agreed_baseline"}


def _check_codes(rules: dict[str, Any], snap: Snapshot) -> set[tuple[str, tuple[str | int, ...]]]:
    return {(p.code, p.path) for p in check_inputs(parse_rules(rules), snap)}


def test_checks_refuse_an_inconsistent_snapshot() -> None:
    snap = _snapshot(
        [
            ContributionInput("a", "k", claimed_share=D("0.7")),
            ContributionInput("b", "k", claimed_share=D("0.6")),
            ContributionInput("a", "nope"),
        ],
        {"2026-Q1": "3"},
    )
    snap = replace(
        snap,
        epics=(*snap.epics, EpicInput(id="b", key="B")),
        measurements=(*snap.measurements, MeasurementInput("k", "2026-Q1", D("4"))),
    )
    codes = _check_codes({"currency": "USD", "kpis": {"ghost": {}}}, snap)
    assert codes == {
        ("claimed_shares_exceed_one", ("kpis", "k", "claimed_share")),
        ("unknown_kpi", ("contributions", "a", "nope", "kpi")),
        ("unknown_kpi", ("rules", "kpis", "ghost")),
        ("period_cadence", ("measurements", "k", "2026-Q1", "all", "period")),
        ("duplicate", ("measurements", "k", "2026-Q1", "all")),
        ("duplicate", ("epics", "b")),
    }
    with pytest.raises(InputError) as caught:
        compute({"currency": "USD"}, snap, "2026-01", "2026-01")
    assert len(caught.value.problems) == 5


def test_checks_refuse_money_without_a_rate() -> None:
    kpi = _kpi(value_per_unit=ValuePerUnit(D("1"), "GBP", "year"))
    snap = _snapshot([ContributionInput("a", "k")], kpi=kpi)
    snap = replace(snap, epics=(EpicInput(id="a", key="A", planned_cost=Money(D("9"), "CHF")),))
    assert _check_codes({"currency": "USD"}, snap) == {
        ("currency_without_rate", ("kpis", "k", "value_per_unit", "currency")),
        ("currency_without_rate", ("epics", "a", "planned_cost", "currency")),
    }
    assert _check_codes({"currency": "USD", "fx": {"GBP": "1.27", "CHF": "1.1"}}, snap) == set()


@pytest.mark.parametrize(
    ("period_from", "period_to", "path"),
    [
        ("2026-13", "2026-12", "period_from"),
        ("2026-01", "x", "period_to"),
        ("2026-05", "2026-04", "period_to"),
    ],
)
def test_bad_ranges(period_from: str, period_to: str, path: str) -> None:
    snap = _snapshot([ContributionInput("a", "k")])
    with pytest.raises(InputError) as caught:
        compute(_rules(), snap, period_from, period_to)
    assert [p.path for p in caught.value.problems] == [(path,)]


def test_snapshot_round_trips_and_hashes_by_value() -> None:
    snap = Snapshot(
        kpis=(_kpi(target_due=date(2026, 6, 30)),),
        epics=(
            EpicInput(
                id="a",
                key="A",
                streams=("Revenue", "CX"),
                planned_cost=Money(D("10.00"), "USD"),
                start_date=date(2026, 1, 5),
            ),
        ),
        contributions=(ContributionInput("a", "k", D("0.5"), D("1")),),
        measurements=(MeasurementInput("k", "2026-01", D("2.50")),),
    )
    restored = Snapshot.from_dict(snap.to_dict())
    assert restored.to_canonical() == snap.to_canonical()
    assert input_hash(restored) == input_hash(snap)
    respelled = replace(
        snap,
        epics=(replace(snap.epics[0], streams=("CX", "Revenue")),),
        measurements=(MeasurementInput("k", "2026-01", D("2.5")),),
    )
    assert input_hash(respelled) == input_hash(snap)
    changed = replace(snap, measurements=(MeasurementInput("k", "2026-01", D("2.51")),))
    assert input_hash(changed) != input_hash(snap)


def test_snapshot_from_bad_dict() -> None:
    with pytest.raises(InputError) as caught:
        Snapshot.from_dict({"kpis": [{"slug": "k"}]})
    assert all(p.path[:2] == ("kpis", 0) for p in caught.value.problems)
