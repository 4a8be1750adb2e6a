"""attribution.md's worked example, reproduced to the cent."""

from decimal import Decimal

from attribution.engine import RunResult, compute, content_hash, input_hash
from attribution.engine.examples import worked_example_rules, worked_example_snapshot


def _run() -> RunResult:
    return compute(worked_example_rules(), worked_example_snapshot(), "2026-04", "2026-06")


def test_lines_match_the_worked_example() -> None:
    result = _run()
    table = [(line.period, line.epic_key, line.uplift, line.benefit) for line in result.lines]
    assert table == [
        ("2026-04", "PAY-12", Decimal("0.4"), Decimal("128000.00")),
        ("2026-04", "WEB-7", Decimal("0.4"), Decimal("85333.33")),
        ("2026-05", "PAY-12", Decimal("0.8"), Decimal("256000.00")),
        ("2026-05", "WEB-7", Decimal("0.8"), Decimal("170666.67")),
        ("2026-06", "PAY-12", Decimal("1.2"), Decimal("384000.00")),
        ("2026-06", "WEB-7", Decimal("1.2"), Decimal("256000.00")),
    ]
    # Shown rounded in the table, but never used rounded: 266,666.67 x 0.8 x 0.4 would be
    # 85,333.33 too, yet 800,000.00 is only exact because nothing was rounded before.
    assert [line.period_value for line in result.lines[::2]] == [
        Decimal("266666.67"),
        Decimal("533333.33"),
        Decimal("800000.00"),
    ]
    assert all(
        line.benefit is not None and line.benefit.as_tuple().exponent == -2 for line in result.lines
    )
    assert {line.currency for line in result.lines} == {"USD"}


def test_cumulative_run_rate_and_payback() -> None:
    result = _run()
    pay, web = result.epics
    assert (pay.epic_key, pay.realized, pay.run_rate) == (
        "PAY-12",
        Decimal("768000.00"),
        Decimal("4608000.00"),
    )
    assert pay.payback_period == "2026-06"
    assert pay.planned_cost == Decimal("500000.00")
    assert (web.epic_key, web.realized, web.run_rate) == (
        "WEB-7",
        Decimal("512000.00"),
        Decimal("3072000.00"),
    )
    assert web.payback_period is None
    pay_lines = [line for line in result.lines if line.epic_key == "PAY-12"]
    assert [line.cumulative for line in pay_lines] == [
        Decimal("128000.00"),
        Decimal("384000.00"),
        Decimal("768000.00"),
    ]


def test_run_totals_and_hashes() -> None:
    result = _run()
    assert result.totals.benefit == Decimal("1280000.00")
    assert [(s.stream, s.benefit) for s in result.totals.by_stream] == [
        ("Revenue", Decimal("1280000.00"))
    ]
    assert result.gaps == ()
    assert result.warnings == ()
    assert result.unattributed == ()  # 0.6 + 0.4 = 1
    assert result.content_hash == content_hash(worked_example_rules())
    assert result.input_hash == input_hash(worked_example_snapshot())
    assert _run().to_canonical() == result.to_canonical()
    assert _run().lines_hash == result.lines_hash
