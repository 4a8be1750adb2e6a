"""Runs, benefit lines and verification: request and response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from attribution.rulesets.schemas import PERIOD_PATTERN
from ledgerkit.money import Money
from ledgerkit.pagination import Page
from ledgerkit.timeutil import IsoDatetime


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    ruleset: str = Field(description="Rule set id or name.")
    version: int | None = Field(
        default=None,
        ge=1,
        description="Default: the agreed version in force at `from`.",
    )
    period_from: str = Field(alias="from", pattern=PERIOD_PATTERN, examples=["2026-04"])
    period_to: str = Field(alias="to", pattern=PERIOD_PATTERN, examples=["2026-06"])
    as_of: IsoDatetime | None = Field(
        default=None,
        description="Read outcomes data as known at this time, ISO 8601 (default: now).",
    )
    preview: bool = Field(
        default=False,
        description="true: a what-if run (any non-rejected version, `write` scope); false: "
        "an official run (agreed version, `finance` scope).",
    )


class StreamTotal(BaseModel):
    stream: str
    benefit: Money


class RunTotals(BaseModel):
    benefit: Money
    unattributed: Money
    lines: int
    gaps: int
    by_stream: list[StreamTotal]


class RunRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    ruleset: str
    version: int
    content_hash: str = Field(description="Hash of the rules the run used.")
    input_hash: str = Field(description="sha256 of the canonical input snapshot.")
    lines_hash: str = Field(description="sha256 of the canonical lines.")
    status: Literal["official", "preview"]
    period_from: str = Field(serialization_alias="from")
    period_to: str = Field(serialization_alias="to")
    as_of: datetime
    currency: str
    replica_after: int = Field(description="Change-feed seq the replica had applied.")
    totals: RunTotals
    gaps: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    unattributed: list[dict[str, Any]]
    timings: dict[str, float] = Field(description="Milliseconds per phase.")
    created_by: str
    created_at: datetime


RunPage = Page[RunRead]


class BenefitLineRead(BaseModel):
    seq: int
    epic: str = Field(description="Epic key.")
    epic_id: str
    kpi: str
    stream: str
    period: str
    uplift: str = Field(description="KPI units after cap and floor (decimal string).")
    share: str
    ramp: str
    period_value: Money | None = None
    benefit: Money | None = Field(
        default=None, description="null when the KPI has no value per unit."
    )
    cumulative: Money | None = None


BenefitLinePage = Page[BenefitLineRead]


class HashCheck(BaseModel):
    stored: str
    recomputed: str
    ok: bool


class VerifyRead(BaseModel):
    ok: bool
    run: str
    detail: str
    input_hash: HashCheck
    content_hash: HashCheck
    lines_hash: HashCheck
    version_content_hash: str | None = Field(
        default=None, description="The rule set version's hash today (drafts can change)."
    )
    lines_checked: int
    lines_recomputed: int
    mismatches: list[dict[str, Any]] = Field(
        default_factory=list, description="The first differing lines (at most 20)."
    )
