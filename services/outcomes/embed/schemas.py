"""Embed token requests and responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class EmbedFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stream: str | None = Field(
        default=None, max_length=20, description="Revenue, Cost, Risk or CX (any case)."
    )
    team: str | None = Field(default=None, max_length=200)
    epic: str | None = Field(default=None, max_length=100, description="Epic id or key.")
    theme: str | None = Field(default=None, description="light or dark.", examples=["dark"])


class EmbedTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: EmbedFilters = Field(default_factory=EmbedFilters)
    expires_in: int = Field(
        default=86400,
        ge=60,
        description="Seconds until the link stops working (at most EMBED_MAX_EXPIRES_IN, "
        "30 days by default).",
    )


class EmbedTokenRead(BaseModel):
    url: str = Field(description="The scorecard URL to put in an iframe's `src`.")
    token: str
    expires_at: datetime
    filters: EmbedFilters
