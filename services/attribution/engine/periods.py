"""Reporting periods: ``YYYY-MM`` (monthly KPIs) and ``YYYY-Qn`` (quarterly KPIs).

A period is identified by its cadence and an *ordinal* (months or quarters since year 0),
which makes ranges, shifts ("lag 2 periods") and "the n periods before" plain arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

Cadence = Literal["monthly", "quarterly"]

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodError(ValueError):
    """A period string is malformed, of the wrong cadence, or a range is reversed."""


def periods_per_year(cadence: Cadence) -> int:
    return 12 if cadence == "monthly" else 4


def months_per_period(cadence: Cadence) -> int:
    return 1 if cadence == "monthly" else 3


@dataclass(frozen=True)
class Period:
    cadence: Cadence
    ordinal: int  # year * periods_per_year + (index - 1)

    @classmethod
    def of(cls, cadence: Cadence, year: int, index: int) -> Period:
        if not 1 <= index <= periods_per_year(cadence):
            raise PeriodError(f"{cadence} period index out of range: {index}")
        return cls(cadence, year * periods_per_year(cadence) + index - 1)

    @property
    def year(self) -> int:
        return self.ordinal // periods_per_year(self.cadence)

    @property
    def index(self) -> int:
        """Month 1-12 or quarter 1-4 within the year."""
        return self.ordinal % periods_per_year(self.cadence) + 1

    @property
    def first_month(self) -> int:
        """Month ordinal (year * 12 + month - 1) of the first month in the period."""
        return self.year * 12 + (self.index - 1) * months_per_period(self.cadence)

    @property
    def last_month(self) -> int:
        return self.first_month + months_per_period(self.cadence) - 1

    @property
    def sort_key(self) -> tuple[int, int]:
        # Chronological even across cadences: by the month the period ends; of two periods
        # ending the same month (2026-Q2, 2026-06) the one that started earlier comes first.
        return (self.last_month, self.first_month)

    def shift(self, n: int) -> Period:
        return Period(self.cadence, self.ordinal + n)

    def __str__(self) -> str:
        if self.cadence == "monthly":
            return f"{self.year:04d}-{self.index:02d}"
        return f"{self.year:04d}-Q{self.index}"


@lru_cache(maxsize=4096)  # pure, and called for every line when sorting
def parse_period(text: str, cadence: Cadence | None = None) -> Period:
    """Parse ``YYYY-MM`` or ``YYYY-Qn``; with ``cadence`` given, the form must match it."""
    if not isinstance(text, str):
        raise PeriodError(f"a period must be a string, got {type(text).__name__}")
    if match := _MONTH.match(text):
        period = Period.of("monthly", int(match[1]), int(match[2]))
    elif match := _QUARTER.match(text):
        period = Period.of("quarterly", int(match[1]), int(match[2]))
    else:
        raise PeriodError(f"not a period (expected YYYY-MM or YYYY-Qn): {text!r}")
    if period.year < 1:
        raise PeriodError(f"year out of range: {text!r}")
    if cadence is not None and period.cadence != cadence:
        expected = "YYYY-MM" if cadence == "monthly" else "YYYY-Qn"
        raise PeriodError(f"{text!r} is not a {cadence} period (expected {expected})")
    return period


def format_period(period: Period) -> str:
    return str(period)


@lru_cache(maxsize=4096)  # pure; called for every line (lag and ramp)
def period_containing(day: date, cadence: Cadence) -> Period:
    index = day.month if cadence == "monthly" else (day.month - 1) // 3 + 1
    return Period.of(cadence, day.year, index)


def period_range(start: Period, end: Period) -> list[Period]:
    """Every period from ``start`` to ``end`` inclusive (same cadence)."""
    if start.cadence != end.cadence:
        raise PeriodError(f"range mixes cadences: {start} .. {end}")
    if start.ordinal > end.ordinal:
        raise PeriodError(f"range is reversed: {start} .. {end}")
    return [Period(start.cadence, o) for o in range(start.ordinal, end.ordinal + 1)]


def periods_covering(start: Period, end: Period, cadence: Cadence) -> list[Period]:
    """The ``cadence`` periods that overlap the months from ``start`` to ``end``.

    A run's range may be given in either form; a quarterly KPI in a run over 2026-04..2026-05
    covers 2026-Q2 (it overlaps the range), and a monthly KPI in 2026-Q2..2026-Q2 covers
    2026-04..2026-06.
    """
    if start.first_month > end.last_month:
        raise PeriodError(f"range is reversed: {start} .. {end}")
    per = months_per_period(cadence)
    first = Period(cadence, start.first_month // per)
    last = Period(cadence, end.last_month // per)
    return period_range(first, last)


def previous_periods(period: Period, n: int) -> list[Period]:
    """The ``n`` periods immediately before ``period``, oldest first."""
    if n < 0:
        raise PeriodError(f"n must be >= 0, got {n}")
    return [period.shift(-k) for k in range(n, 0, -1)]
