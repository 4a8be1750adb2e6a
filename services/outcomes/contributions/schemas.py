"""Contribution request and response models."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from ledgerkit.money import decimal_str
from outcomes.kpis.schemas import KpiValue

ClaimedShare = Annotated[
    Decimal,
    Field(allow_inf_nan=False, ge=0, le=1, max_digits=11, decimal_places=10),
    PlainSerializer(decimal_str, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number", "minimum": 0, "maximum": 1}],
            "description": "Share of the KPI's uplift this epic claims, 0–1 (decimal string "
            "in responses). The shares of one KPI never sum above 1.",
            "examples": ["0.6"],
        },
        mode="validation",
    ),
]


class ContributionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kpi: str = Field(min_length=1, max_length=100, description="The KPI's slug.")
    expected_uplift: KpiValue | None = Field(default=None, description="In the KPI's units.")
    expected_by: date | None = None
    claimed_share: ClaimedShare | None = None


class ContributionUpdate(BaseModel):
    """JSON merge patch: absent = unchanged, null = cleared."""

    model_config = ConfigDict(extra="forbid")

    expected_uplift: KpiValue | None = None
    expected_by: date | None = None
    claimed_share: ClaimedShare | None = None


class ContributionRead(BaseModel):
    epic_id: str
    epic: str = Field(description="The epic's key.")
    kpi: str
    expected_uplift: KpiValue | None
    expected_by: date | None
    claimed_share: ClaimedShare | None
    version: int


class ContributionPage(BaseModel):
    items: list[ContributionRead]
    next_cursor: str | None = None
