"""Outcomes service settings (environment variables; see the README's settings table)."""

from __future__ import annotations

from ledgerkit.settings import CommonSettings
from pydantic import AliasChoices, Field


class OutcomesSettings(CommonSettings):
    database_url: str = Field(
        default="sqlite:///data/outcomes.db",
        validation_alias=AliasChoices("OUTCOMES_DATABASE_URL", "DATABASE_URL"),
        description="Outcomes database; OUTCOMES_DATABASE_URL overrides DATABASE_URL.",
    )
    attribution_url: str = Field(
        default="http://127.0.0.1:8001",
        validation_alias="ATTRIBUTION_URL",
        description="Where the attribution service answers (the scorecard reads benefits).",
    )
