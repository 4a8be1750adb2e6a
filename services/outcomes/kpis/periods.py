"""Periods: `YYYY-MM` for monthly KPIs, `YYYY-Qn` for quarterly ones."""

from __future__ import annotations

import re

_MONTHLY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_QUARTERLY = re.compile(r"^\d{4}-Q[1-4]$")
_EXAMPLES = {"monthly": "2026-04", "quarterly": "2026-Q2"}


def period_error(period: str, cadence: str) -> str | None:
    """Why `period` is not a period of a KPI with this `cadence`, or None when it is."""
    pattern = _MONTHLY if cadence == "monthly" else _QUARTERLY
    if pattern.match(period):
        return None
    other = "quarterly" if cadence == "monthly" else "monthly"
    other_pattern = _QUARTERLY if cadence == "monthly" else _MONTHLY
    if other_pattern.match(period):
        return (
            f"{period!r} is a {other} period but the KPI's cadence is {cadence}; "
            f"use periods like {_EXAMPLES[cadence]!r}"
        )
    return f"{period!r} is not a {cadence} period; use periods like {_EXAMPLES[cadence]!r}"
