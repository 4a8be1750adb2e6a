"""GraphQL scalars and value types both services share, with documented formats.

- `Decimal`: an exact decimal as a JSON *string* (`"2.1"`, `"128000.00"`); inputs accept a
  string or a number; NaN/Infinity are refused.
- `DateTime`: UTC, ISO 8601 with `Z` (`2026-04-01T10:15:30.123456Z`); inputs accept any
  ISO 8601 offset (naive means UTC).
- `Date`: `YYYY-MM-DD`.
- `Period`: `YYYY-MM` (monthly) or `YYYY-Qn` (quarterly).
- `Money`: `{amount: Decimal, currency}` — the amount at cent precision.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NewType

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

from ledgerkit.money import quantize_money

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$")


def _serialize_decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise GraphQLError(f"Expected a decimal string or number, got {value!r}.")
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise GraphQLError(f"{value!r} is not a decimal number.") from exc
    if not out.is_finite():
        raise GraphQLError("NaN and Infinity are not decimal numbers here.")
    return out


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        dt = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise GraphQLError(f"Expected an ISO 8601 timestamp string, got {value!r}.")
    try:
        dt = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError as exc:
        raise GraphQLError(f"{value!r} is not an ISO 8601 timestamp.") from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _serialize_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _parse_date(value: Any) -> date:
    if not isinstance(value, str):
        raise GraphQLError(f"Expected a date string YYYY-MM-DD, got {value!r}.")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise GraphQLError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


def _parse_period(value: Any) -> str:
    if not isinstance(value, str) or not PERIOD_RE.match(value.strip()):
        raise GraphQLError(
            f"{value!r} is not a period; use YYYY-MM (monthly) or YYYY-Qn (quarterly)."
        )
    return value.strip()


Period = NewType("Period", str)
# A decimal already printed as text (the REST spelling, e.g. "2.1"): read models built from
# rows carry it as is, so the `Decimal` scalar passes it through instead of re-parsing.
DecimalText = NewType("DecimalText", str)

DecimalScalar = strawberry.scalar(
    name="Decimal",
    description='An exact decimal, serialized as a JSON string ("2.1", "128000.00"); '
    "inputs accept a string or a number. Never a float.",
    serialize=_serialize_decimal,
    parse_value=_parse_decimal,
)
DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="A UTC timestamp, ISO 8601 with `Z` (2026-04-01T10:15:30.123456Z); inputs "
    "accept any ISO 8601 offset (no offset means UTC).",
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)
DateScalar = strawberry.scalar(
    name="Date",
    description="A calendar date, YYYY-MM-DD.",
    serialize=_serialize_date,
    parse_value=_parse_date,
)
PeriodScalar = strawberry.scalar(
    name="Period",
    description="A KPI period: YYYY-MM for monthly KPIs, YYYY-Qn for quarterly ones.",
    serialize=str,
    parse_value=_parse_period,
)

SCALARS: dict[object, ScalarDefinition] = {
    Decimal: DecimalScalar,
    DecimalText: DecimalScalar,
    datetime: DateTimeScalar,
    date: DateScalar,
    Period: PeriodScalar,
}
"""`scalar_overrides` for `strawberry.Schema`: Python type → documented scalar."""


@strawberry.type(description="An amount of money: a decimal string at cent precision.")
class Money:
    amount: Decimal
    currency: str

    @staticmethod
    def of(amount: Decimal | None, currency: str | None) -> Money | None:
        if amount is None or not currency:
            return None
        return Money(amount=quantize_money(amount), currency=currency)


@strawberry.input(description="An amount of money.")
class MoneyInput:
    amount: Decimal
    currency: str
