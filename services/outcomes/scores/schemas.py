"""Value-council score models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ledgerkit.pagination import Page

Period = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$"),
    Field(description="`YYYY-MM` or `YYYY-Qn`.", examples=["2026-Q2"]),
]
OneToFive = Annotated[int, Field(ge=1, le=5, strict=True)]


class ScoreCreate(BaseModel):
    """One council score of an epic for a period. Each dimension is 1–5 where higher is
    better (for `risk`, 5 = least risky); `total` is their sum (3–15)."""

    model_config = ConfigDict(extra="forbid")

    period: Period
    outcome_potential: OneToFive
    time_to_value: OneToFive
    risk: OneToFive
    scored_by: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="Defaults to the caller (API key name).")
    note: Annotated[str, StringConstraints(max_length=4000)] | None = None


class ScoreRead(BaseModel):
    id: str
    epic_id: str
    epic: str = Field(description="The epic's key.")
    period: str
    outcome_potential: int
    time_to_value: int
    risk: int
    total: int = Field(description="outcome_potential + time_to_value + risk (3–15).")
    scored_by: str | None
    note: str | None
    created_at: datetime


ScorePage = Page[ScoreRead]
