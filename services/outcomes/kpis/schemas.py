"""KPI request and response models.

KPI values (baseline, target, measurements, expected uplift) are decimals: accepted as JSON
strings or numbers, returned as strings without trailing zeros (`"2.1"`); NaN and Infinity
are refused. They are stored as `Numeric(28, 10)`, so at most 10 decimal places.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from ledgerkit.money import CurrencyCode, decimal_str

KpiValue = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=28, decimal_places=10),
    PlainSerializer(decimal_str, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, {"type": "number"}],
            "description": 'A decimal: a string (returned as one, e.g. "2.1") or a number.',
        },
        mode="validation",
    ),
]
"""A KPI value: a decimal string or number in requests, a decimal string in responses."""

RateValue = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=20, decimal_places=4, ge=0),
    PlainSerializer(decimal_str, return_type=str, when_used="json"),
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "number"}], "examples": ["8000000"]},
        mode="validation",
    ),
]

STREAMS = ("Revenue", "Cost", "Risk", "CX")
_STREAM_BY_LOWER = {s.lower(): s for s in STREAMS}


def _canonical_stream(value: Any) -> Any:
    if isinstance(value, str):
        canonical = _STREAM_BY_LOWER.get(value.strip().lower())
        if canonical is None:
            raise ValueError(f"unknown stream {value!r}; allowed: {', '.join(STREAMS)}")
        return canonical
    return value


Stream = Literal["Revenue", "Cost", "Risk", "CX"]
Unit = Literal["percent", "currency", "count", "ratio", "seconds", "score"]
Direction = Literal["increase", "decrease"]
Cadence = Literal["monthly", "quarterly"]
ScorecardLine = Literal["financial", "customer", "operational", "risk"]
Per = Literal["year", "month"]

StreamIn = Annotated[
    Stream,
    BeforeValidator(_canonical_stream),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Revenue, Cost, Risk or CX (any letter case).",
            "examples": ["Revenue"],
        },
        mode="validation",
    ),
]


DEFAULT_SCORECARD_LINE: dict[str, ScorecardLine] = {
    "Revenue": "financial",
    "Cost": "financial",
    "CX": "customer",
    "Risk": "risk",
}


def default_scorecard_line(stream: str | None) -> ScorecardLine:
    """Revenue and Cost → financial, CX → customer, Risk → risk, no stream → operational."""
    return DEFAULT_SCORECARD_LINE.get(stream or "", "operational")


Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Lowercase letters, digits and dashes.",
        examples=["checkout-conversion"],
    ),
]
Owner = Annotated[str, Field(min_length=1, max_length=200)]


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: KpiValue
    due: date | None = None


class TargetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: KpiValue | None = None
    due: date | None = None


class ValuePerUnit(BaseModel):
    """The money one unit of improvement is worth per `year` or `month` (agreed with finance)."""

    model_config = ConfigDict(extra="forbid")

    amount: RateValue
    currency: CurrencyCode
    per: Per = "year"


class ValuePerUnitPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: RateValue | None = None
    currency: CurrencyCode | None = None
    per: Per | None = None


class KpiCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: str = Field(min_length=1, max_length=300)
    stream: StreamIn | None = None
    unit: Unit
    direction: Direction
    cadence: Cadence = "monthly"
    target: Target | None = None
    value_per_unit: ValuePerUnit | None = None
    owners: list[Owner] = Field(default_factory=list, max_length=50)
    scorecard_line: ScorecardLine | None = Field(
        default=None,
        description="Defaults from the stream: Revenue/Cost → financial, CX → customer, "
        "Risk → risk, none → operational.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_baseline(cls, data: Any) -> Any:
        if isinstance(data, dict) and "baseline" in data:
            raise ValueError(
                "a baseline is agreed with finance via PUT /v1/kpis/{slug}/baseline, "
                "not set on create"
            )
        return data


class KpiUpdate(BaseModel):
    """JSON merge patch: absent = unchanged, null = cleared (where allowed). `target` and
    `value_per_unit` merge field by field. The baseline changes only via PUT …/baseline."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=300)
    stream: StreamIn | None = None
    unit: Unit | None = None
    direction: Direction | None = None
    cadence: Cadence | None = None
    target: TargetPatch | None = None
    value_per_unit: ValuePerUnitPatch | None = None
    owners: list[Owner] | None = Field(default=None, max_length=50)
    scorecard_line: ScorecardLine | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_baseline(cls, data: Any) -> Any:
        if isinstance(data, dict) and "baseline" in data:
            raise ValueError(
                "the agreed baseline cannot be changed by PATCH; agree a new one with "
                "PUT /v1/kpis/{slug}/baseline (finance scope)"
            )
        if isinstance(data, dict) and "slug" in data:
            raise ValueError("a KPI's slug is its identity and cannot be changed")
        return data


class BaselineAgree(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: KpiValue
    as_of: date = Field(description="The date (or period end) the baseline describes.")
    source: str | None = Field(default=None, max_length=300)
    agreed_by: str | None = Field(
        default=None, max_length=200, description="Who agreed it; defaults to the API key's name."
    )


class Baseline(BaseModel):
    value: KpiValue
    as_of: date
    source: str | None
    agreed_by: str | None
    agreed_at: datetime


class KpiRead(BaseModel):
    slug: str
    name: str
    stream: Stream | None
    unit: Unit
    direction: Direction
    cadence: Cadence
    baseline: Baseline | None
    target: Target | None
    value_per_unit: ValuePerUnit | None
    owners: list[str]
    scorecard_line: ScorecardLine
    version: int
    created_at: datetime
    updated_at: datetime


class KpiPage(BaseModel):
    items: list[KpiRead]
    next_cursor: str | None = None
