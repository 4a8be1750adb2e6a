"""`decimal_str` prints a decimal as REST and GraphQL show it: no exponent, no trailing
zeros, no negative zero — whatever form the Decimal has (database text or arithmetic)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerkit.money import decimal_str

CASES = [
    ("12.500000", "12.5"),
    ("100.00", "100"),
    ("0.000", "0"),
    ("-0.00", "0"),
    ("-0", "0"),
    ("0E-10", "0"),
    ("1E+1", "10"),
    ("-1E+3", "-1000"),
    ("1E-7", "0.0000001"),
    ("0.0000001", "0.0000001"),
    ("123456789.123400", "123456789.1234"),
    ("-5.50", "-5.5"),
    ("7", "7"),
    ("0.10", "0.1"),
]


@pytest.mark.parametrize(("raw", "text"), CASES)
def test_decimal_text(raw: str, text: str) -> None:
    value = Decimal(raw)
    assert decimal_str(value) == text
    # the reference definition: normalized, fixed-point
    reference = format(value.normalize(), "f")
    assert decimal_str(value) == (reference if reference != "-0" else "0")
    assert Decimal(decimal_str(value)) == value
