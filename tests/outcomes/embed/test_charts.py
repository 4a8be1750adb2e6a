"""The scorecard's SVG charts and period axis (pure functions)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from outcomes.embed.benefits import parse_item
from outcomes.embed.charts import BarPair, TrendChart, bars_svg, fmt_number, trend_svg
from outcomes.embed.service import date_ordinal, ordinal_period, period_ordinal


def test_fmt_number() -> None:
    assert fmt_number(Decimal("2.1000000000")) == "2.1"
    assert fmt_number(Decimal("1500000")) == "1,500,000"
    assert fmt_number(Decimal("5E+1")) == "50"
    assert fmt_number(Decimal("0.25")) == "0.25"


def test_periods_round_trip() -> None:
    assert ordinal_period(period_ordinal("2026-05", "monthly") or 0, "monthly") == "2026-05"
    assert ordinal_period(period_ordinal("2026-Q3", "quarterly") or 0, "quarterly") == "2026-Q3"
    assert period_ordinal("2026-13", "monthly") is None
    assert period_ordinal("2026-05", "quarterly") is None
    assert date_ordinal(date(2026, 9, 30), "quarterly") == period_ordinal("2026-Q3", "quarterly")


def test_trend_chart_is_accessible_and_escaped() -> None:
    svg = trend_svg(
        TrendChart(
            chart_id="k1",
            title="<b>Conversion</b>",
            periods=["2026-01", "2026-02", "2026-03"],
            values=[(0, Decimal("2.1")), (2, Decimal("2.9"))],
            baseline=Decimal("2.1"),
            target=Decimal("3.3"),
            target_index=2,
            target_label="2026-03-31",
            description='latest 2.9 "quoted"',
        )
    )
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg
    assert 'aria-labelledby="k1-t k1-d"' in svg
    assert '<title id="k1-t">&lt;b&gt;Conversion&lt;/b&gt;</title>' in svg
    assert "&#34;quoted&#34;" in svg
    assert svg.count("<circle") == 2 and "<polyline" in svg
    assert 'class="baseline"' in svg and 'class="target"' in svg and 'class="due"' in svg
    assert "style=" not in svg  # the CSP allows no inline style attributes


def test_empty_chart_says_so() -> None:
    svg = trend_svg(TrendChart(chart_id="e", title="t", periods=[], values=[]))
    assert "No measurements yet" in svg


def test_bars() -> None:
    svg = bars_svg(
        "b", "Planned vs realized", "desc", [BarPair("PAY-12", Decimal(500), Decimal(768))]
    )
    assert 'class="planned"' in svg and 'class="realized"' in svg


def test_benefit_item_shapes() -> None:
    b = parse_item(
        {
            "epic": "PAY-12",
            "epic_id": "abc",
            "realized": {"amount": "768000.00", "currency": "USD"},
            "run_rate": {"amount": "4608000.00", "currency": "USD"},
            "payback_period": "2026-06",
        }
    )
    assert b.epic_key == "PAY-12" and b.realized and b.realized.amount == Decimal("768000.00")
    assert b.payback_period == "2026-06"
    odd = parse_item({"epic": "X", "realized": "NaN", "run_rate": "12.5", "currency": "EUR"})
    assert odd.realized is None and odd.run_rate and odd.run_rate.currency == "EUR"
