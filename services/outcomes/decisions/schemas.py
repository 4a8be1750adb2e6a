"""Decision-log models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ledgerkit.pagination import Page


def _canonical(value: Any) -> Any:
    """`Course-Correct`, `course correct` → `course_correct`."""
    if isinstance(value, str):
        return value.strip().lower().replace("-", "_").replace(" ", "_")
    return value


DecisionKind = Annotated[
    Literal["continue", "course_correct", "scale", "pause", "cut"], BeforeValidator(_canonical)
]
Grade = Annotated[
    Literal["realized", "on_track", "delayed", "disproven"], BeforeValidator(_canonical)
]

# The epic status each decision leads to (None: unchanged). `scale`, `continue` and
# `course_correct` (re)start work only from `proposed` or `paused`.
STATUS_AFTER: dict[str, str] = {"pause": "paused", "cut": "cut"}
RESUMES = frozenset({"continue", "course_correct", "scale"})
RESUMABLE = frozenset({"proposed", "paused"})


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decided_on: date
    decision: DecisionKind
    grade: Grade | None = None
    rationale: Annotated[str, StringConstraints(max_length=4000)] | None = None
    decided_by: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="Defaults to the caller (API key name).")


class DecisionRead(BaseModel):
    id: str
    epic_id: str
    epic: str = Field(description="The epic's key.")
    decided_on: date
    decision: str
    grade: str | None
    rationale: str | None
    decided_by: str | None
    created_at: datetime


DecisionPage = Page[DecisionRead]
