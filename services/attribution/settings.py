"""Attribution service settings (environment variables; see the README's settings table)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from ledgerkit.settings import CommonSettings


class AttributionSettings(CommonSettings):
    database_url: str = Field(
        default="sqlite:///data/attribution.db",
        validation_alias=AliasChoices("ATTRIBUTION_DATABASE_URL", "DATABASE_URL"),
        description="Attribution database; ATTRIBUTION_DATABASE_URL overrides DATABASE_URL.",
    )
    outcomes_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias="OUTCOMES_URL",
        description="Where the outcomes service answers (its change feed is followed).",
    )
    outcomes_api_key: str = Field(
        default="",
        validation_alias="OUTCOMES_API_KEY",
        description="API key (scope read) used to follow the outcomes change feed.",
    )
    sync_interval: float = Field(
        default=2.0,
        validation_alias="SYNC_INTERVAL",
        description="Seconds between change-feed polls; 0 turns the background follower off.",
    )
