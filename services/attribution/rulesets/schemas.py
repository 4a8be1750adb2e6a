"""Rule sets and their versions: request and response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgerkit.pagination import Page

PERIOD_PATTERN = r"^[1-9]\d{3}-(0[1-9]|1[0-2]|Q[1-4])$"  # year 0 is no period
VersionStatus = Literal["draft", "proposed", "agreed", "superseded", "rejected"]

RULES_DESCRIPTION = (
    "The rules document (attribution.md): `currency`, `fx`, `defaults`, per-KPI overrides "
    "in `kpis`. Validated fully; problems come back as 422 with the JSON path in `loc`."
)


class RuleSetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Finance FY26"])
    description: str | None = Field(default=None, max_length=2000)


class VersionSummary(BaseModel):
    version: int
    status: VersionStatus
    effective_from: str
    content_hash: str
    agreed_at: datetime | None = None


class RuleSetRead(BaseModel):
    id: str
    name: str
    description: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    versions: list[VersionSummary]


RuleSetPage = Page[RuleSetRead]


class VersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any] = Field(description=RULES_DESCRIPTION)
    effective_from: str = Field(
        pattern=PERIOD_PATTERN,
        description="First period the version applies to (`YYYY-MM` or `YYYY-Qn`).",
        examples=["2026-01"],
    )


class VersionUpdate(BaseModel):
    """JSON merge patch: `rules` is merged into the stored document (null removes a key)."""

    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any] | None = Field(default=None, description=RULES_DESCRIPTION)
    effective_from: str | None = Field(default=None, pattern=PERIOD_PATTERN)


class VersionAgree(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_hash: str | None = Field(
        default=None,
        description="The hash the approver reviewed; if the version's differs → 412.",
    )


class VersionReject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class VersionRead(BaseModel):
    ruleset: str
    version: int
    status: VersionStatus
    effective_from: str
    rules: dict[str, Any]
    content_hash: str = Field(description="sha256 of the canonical JSON of the rules.")
    revision: int = Field(description="Bumps on every edit; the ETag.")
    proposed_by: str | None = None
    proposed_at: datetime | None = None
    agreed_by: str | None = None
    agreed_at: datetime | None = None
    rejected_by: str | None = None
    rejected_at: datetime | None = None
    reject_reason: str | None = None
    superseded_by: int | None = None
    superseded_from: str | None = Field(
        default=None, description="From this period on a newer agreed version applies."
    )
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    created_by: str
    created_at: datetime
    updated_at: datetime
