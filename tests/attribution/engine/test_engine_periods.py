from datetime import date

import pytest

from attribution.engine import (
    PeriodError,
    format_period,
    parse_period,
    period_containing,
    period_range,
    periods_covering,
    periods_per_year,
    previous_periods,
)


@pytest.mark.parametrize(
    ("text", "cadence", "year", "index"),
    [
        ("2026-04", "monthly", 2026, 4),
        ("2026-12", "monthly", 2026, 12),
        ("2026-Q3", "quarterly", 2026, 3),
    ],
)
def test_parse_and_format(text: str, cadence: str, year: int, index: int) -> None:
    period = parse_period(text)
    assert (period.cadence, period.year, period.index) == (cadence, year, index)
    assert format_period(period) == text == str(period)


@pytest.mark.parametrize(
    "text",
    ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-4", "26-04", "2026/04", "", "0000-01"],
)
def test_bad_strings_are_rejected(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_cadence_must_match() -> None:
    with pytest.raises(PeriodError, match="not a quarterly period"):
        parse_period("2026-04", "quarterly")
    with pytest.raises(PeriodError, match="not a monthly period"):
        parse_period("2026-Q2", "monthly")


def test_ranges_and_shifts() -> None:
    months = period_range(parse_period("2025-11"), parse_period("2026-02"))
    assert [str(p) for p in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert str(parse_period("2026-Q1").shift(-1)) == "2025-Q4"
    assert [str(p) for p in previous_periods(parse_period("2026-02"), 3)] == [
        "2025-11",
        "2025-12",
        "2026-01",
    ]
    with pytest.raises(PeriodError):
        period_range(parse_period("2026-03"), parse_period("2026-01"))
    with pytest.raises(PeriodError):
        period_range(parse_period("2026-03"), parse_period("2026-Q3"))


def test_period_containing_and_per_year() -> None:
    assert str(period_containing(date(2026, 5, 31), "monthly")) == "2026-05"
    assert str(period_containing(date(2026, 5, 31), "quarterly")) == "2026-Q2"
    assert str(period_containing(date(2026, 10, 1), "quarterly")) == "2026-Q4"
    assert (periods_per_year("monthly"), periods_per_year("quarterly")) == (12, 4)


def test_periods_covering_converts_between_cadences() -> None:
    q = periods_covering(parse_period("2026-02"), parse_period("2026-04"), "quarterly")
    assert [str(p) for p in q] == ["2026-Q1", "2026-Q2"]
    m = periods_covering(parse_period("2026-Q2"), parse_period("2026-Q2"), "monthly")
    assert [str(p) for p in m] == ["2026-04", "2026-05", "2026-06"]


def test_sort_key_is_chronological_across_cadences() -> None:
    labels = ["2026-07", "2026-06", "2026-Q2", "2026-04", "2026-Q1"]
    ordered = sorted(labels, key=lambda t: parse_period(t).sort_key)
    assert ordered == ["2026-Q1", "2026-04", "2026-Q2", "2026-06", "2026-07"]
