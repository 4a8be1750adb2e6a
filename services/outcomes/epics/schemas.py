"""Epic request/response models, value types (streams, statuses) and list filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ledgerkit.money import Money
from ledgerkit.pagination import Page

STREAMS = ("Revenue", "Cost", "Risk", "CX")
STATUSES = ("proposed", "active", "paused", "done", "cut", "archived")
SOURCES = ("manual", "jira", "ado")
CHANGE_TYPES = ("adaptive", "transformative")
_STREAM_BY_LOWER = {s.lower(): s for s in STREAMS}


def canonical_stream(value: Any) -> Any:
    """`revenue`, `REVENUE`, ` Revenue ` → `Revenue`; anything else is left for the enum
    check, whose message lists the allowed values."""
    if isinstance(value, str):
        return _STREAM_BY_LOWER.get(value.strip().lower(), value)
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _unique_streams(streams: list[str]) -> list[str]:
    """Each stream once, in the canonical order (Revenue, Cost, Risk, CX)."""
    return [s for s in STREAMS if s in streams]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


StreamName = Annotated[Literal["Revenue", "Cost", "Risk", "CX"], BeforeValidator(canonical_stream)]
EpicStatus = Annotated[
    Literal["proposed", "active", "paused", "done", "cut", "archived"], BeforeValidator(_lower)
]
EpicSource = Annotated[Literal["manual", "jira", "ado"], BeforeValidator(_lower)]
ChangeType = Annotated[Literal["adaptive", "transformative"], BeforeValidator(_lower)]
Streams = Annotated[list[StreamName], Field(max_length=20), AfterValidator(_unique_streams)]

EpicKey = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.:-]*$"
    ),
    Field(
        description="Unique key, e.g. `PAY-12` (letters, digits, `_ . : -`).", examples=["PAY-12"]
    ),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SourceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Line = Annotated[str, StringConstraints(max_length=1000)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Lines = Annotated[list[Line], Field(max_length=50)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Labels = Annotated[list[Label], Field(max_length=100), AfterValidator(_unique)]


class ProofPlan(BaseModel):
    """The proof (default 90 days) with the criteria to stop or to scale."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=90, ge=1, le=3650)
    stop_if: Text | None = None
    scale_if: Text | None = None


class Hypothesis(BaseModel):
    """The value hypothesis: why this epic should move a KPI, for whom, and how to prove it."""

    model_config = ConfigDict(extra="forbid")

    statement: Text | None = None
    for_whom: Line | None = None
    economic_logic: Text | None = None
    assumptions: Lines = Field(default_factory=list)
    risks: Lines = Field(default_factory=list)
    leading_indicators: Lines = Field(default_factory=list)
    lagging_indicators: Lines = Field(default_factory=list)
    proof_plan: ProofPlan | None = None


class _EpicFields(BaseModel):
    """The writable fields and their rules; a patched epic is re-validated with them."""

    model_config = ConfigDict(extra="forbid")

    key: EpicKey
    title: Title
    streams: Streams = Field(default_factory=list)
    status: EpicStatus = "proposed"
    source: EpicSource = "manual"
    source_id: SourceId | None = None
    owner: Name | None = None
    team: Name | None = None
    planned_cost: Money | None = None
    start_date: date | None = None
    target_date: date | None = None
    hypothesis: Hypothesis | None = None
    change_type: ChangeType | None = None
    sponsor: Name | None = None
    labels: Labels = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates_in_order(self) -> _EpicFields:
        if self.start_date and self.target_date and self.target_date < self.start_date:
            raise ValueError("target_date is before start_date")
        return self


class EpicCreate(_EpicFields):
    """Create an epic: only `key` and `title` are required."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "key": "PAY-12",
                    "title": "Next-best-offer at checkout",
                    "streams": ["Revenue", "CX"],
                    "status": "active",
                    "team": "Payments",
                    "planned_cost": {"amount": "500000.00", "currency": "USD"},
                }
            ]
        },
    )


WRITABLE_FIELDS = tuple(_EpicFields.model_fields)


class EpicUpdate(BaseModel):
    """JSON merge patch (RFC 7396): absent = unchanged, `null` = remove (optional fields),
    objects (`hypothesis`) merge recursively. The result is validated like a create."""

    model_config = ConfigDict(extra="forbid")

    key: EpicKey | None = None
    title: Title | None = None
    streams: Streams | None = None
    status: EpicStatus | None = None
    source: EpicSource | None = None
    source_id: SourceId | None = None
    owner: Name | None = None
    team: Name | None = None
    planned_cost: Money | None = Field(
        default=None, description="Replaced as a whole (amount and currency)."
    )
    start_date: date | None = None
    target_date: date | None = None
    hypothesis: HypothesisPatch | None = None
    change_type: ChangeType | None = None
    sponsor: Name | None = None
    labels: Labels | None = None


class ProofPlanPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(default=None, ge=1, le=3650)
    stop_if: Text | None = None
    scale_if: Text | None = None


class HypothesisPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: Text | None = None
    for_whom: Line | None = None
    economic_logic: Text | None = None
    assumptions: Lines | None = None
    risks: Lines | None = None
    leading_indicators: Lines | None = None
    lagging_indicators: Lines | None = None
    proof_plan: ProofPlanPatch | None = None


EpicUpdate.model_rebuild()


class EpicRead(BaseModel):
    id: str
    key: str
    title: str
    streams: list[str]
    status: str
    source: str
    source_id: str | None
    owner: str | None
    team: str | None
    planned_cost: Money | None
    start_date: date | None
    target_date: date | None
    hypothesis: Hypothesis | None
    change_type: str | None
    sponsor: str | None
    labels: list[str]
    warnings: list[Any]
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


EpicPage = Page[EpicRead]


@dataclass(frozen=True)
class EpicFilters:
    """List filters (REST query and GraphQL `filter`); all optional, combined with AND."""

    stream: str | None = None  # canonical stream name
    status: str | None = None
    kpi: str | None = None  # KPI slug: epics contributing to it
    source: str | None = None
    team: str | None = None
    q: str | None = None  # case-insensitive substring of title or key
    include_archived: bool = False
