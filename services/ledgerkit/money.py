"""Money: `Decimal` amounts with an ISO 4217 currency; rounding is explicit and half-even."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

CENT = Decimal("0.01")

# A decimal that is written to JSON as a string ("128000.00"), never a float.
DecimalStr = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
CurrencyCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["USD"]),
]


def quantize_money(amount: Decimal) -> Decimal:
    """Round to the cent, half-even (banker's rounding), as agreed with finance."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


class Money(BaseModel):
    """An amount and its currency; the amount is a decimal string in JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: Annotated[DecimalStr, Field(max_digits=20, decimal_places=2, examples=["128000.00"])]
    currency: CurrencyCode

    @classmethod
    def of(cls, amount: Decimal | str, currency: str) -> Money:
        return cls(amount=quantize_money(Decimal(amount)), currency=currency)


def decimal_str(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 2.1000 → "2.1", 1E+1 → "10"."""
    text = str(value)
    if "E" in text:
        text = format(value.normalize(), "f")
    elif "." in text:
        # Values read from the database never have an exponent: trimming the plain text
        # is half the cost of normalize() + format() (a BI answer prints thousands).
        text = text.rstrip("0").rstrip(".")
    return text if text != "-0" else "0"
