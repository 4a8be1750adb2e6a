"""Outcomes service settings (environment variables; see the README's settings table)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator

from ledgerkit.settings import CommonSettings


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

    # --- Inbound webhooks (Jira Cloud, Azure DevOps); see docs/webhooks.md -----------------
    jira_webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="JIRA_WEBHOOK_SECRET",
        description="Secret of the Jira admin webhook: when set, every Jira delivery must carry "
        "a valid `X-Hub-Signature` (HMAC of the raw body); empty accepts unsigned deliveries.",
    )
    ado_basic_user: str = Field(default="", validation_alias="ADO_BASIC_USER")
    ado_basic_password: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="ADO_BASIC_PASSWORD",
        description="With ADO_BASIC_USER: basic-auth credentials every Azure DevOps delivery "
        "must present.",
    )
    ado_header_name: str = Field(
        default="X-Outcome-Ledger-Token",
        validation_alias="ADO_HEADER_NAME",
        description="Header that carries ADO_HEADER_SECRET on Azure DevOps deliveries.",
    )
    ado_header_secret: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="ADO_HEADER_SECRET",
        description="When set, every Azure DevOps delivery must send it in ADO_HEADER_NAME.",
    )
    webhook_epic_types: list[str] = Field(
        default_factory=lambda: ["Epic"],
        validation_alias="WEBHOOK_EPIC_TYPES",
        description="Jira issue types / ADO work-item types that become epics (JSON list, "
        "case-insensitive); other types are recorded as `ignored`.",
    )
    jira_stream_label_prefix: str = Field(
        default="outcome-", min_length=1, validation_alias="JIRA_STREAM_LABEL_PREFIX"
    )
    jira_kpi_label_prefix: str = Field(
        default="kpi-", min_length=1, validation_alias="JIRA_KPI_LABEL_PREFIX"
    )
    ado_stream_tag_prefix: str = Field(
        default="Outcome:", min_length=1, validation_alias="ADO_STREAM_TAG_PREFIX"
    )
    ado_kpi_tag_prefix: str = Field(
        default="KPI:", min_length=1, validation_alias="ADO_KPI_TAG_PREFIX"
    )
    jira_status_map: dict[str, str] = Field(
        default_factory=dict,
        validation_alias="JIRA_STATUS_MAP",
        description="JSON object: Jira status name → epic status, merged over the defaults.",
    )
    ado_state_map: dict[str, str] = Field(
        default_factory=dict,
        validation_alias="ADO_STATE_MAP",
        description="JSON object: ADO state name → epic status, merged over the defaults.",
    )
    jira_start_date_field: str = Field(
        default="customfield_10015",
        validation_alias="JIRA_START_DATE_FIELD",
        description="Jira field holding an epic's start date (site-specific custom field id).",
    )
    webhook_max_labels: int = Field(
        default=100,
        ge=1,
        le=100,
        validation_alias="WEBHOOK_MAX_LABELS",
        description="A delivery with more labels/tags than this (at most 100, what an epic "
        "holds) is rejected (422).",
    )

    @field_validator("jira_status_map", "ado_state_map")
    @classmethod
    def _known_statuses(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = ("proposed", "active", "paused", "done", "cut")
        bad = {k: v for k, v in value.items() if v not in allowed}
        if bad:
            raise ValueError(f"unknown epic status in {bad}; allowed: {', '.join(allowed)}")
        return value

    # --- Portals: scorecard embed, signed links, outbound events; see docs/portals.md ----
    attribution_api_key: str = Field(
        default="",
        validation_alias="ATTRIBUTION_API_KEY",
        description="API key (scope read) the scorecard uses to read the attribution service.",
    )
    attribution_timeout: float = Field(
        default=2.0,
        validation_alias="ATTRIBUTION_TIMEOUT",
        description="Seconds the scorecard waits for the attribution service before saying "
        "realized benefit is unavailable.",
    )
    embed_secret: str = Field(
        default="",
        validation_alias="EMBED_SECRET",
        description="HMAC key signing embed links. Production must set it (same value on every "
        "replica); empty: a random per-process key is used and links die with the process.",
    )
    embed_allowed_origins: list[str] = Field(
        default_factory=list,
        validation_alias="EMBED_ALLOWED_ORIGINS",
        description="Portal origins allowed to frame the scorecard (CSP frame-ancestors), as a "
        "JSON list; empty: CORS_ORIGINS is used; both empty: framing is refused ('none').",
    )
    embed_max_expires_in: int = Field(
        default=30 * 24 * 3600,
        validation_alias="EMBED_MAX_EXPIRES_IN",
        description="Longest lifetime (seconds) an embed link may be given.",
    )
    public_url: str = Field(
        default="",
        validation_alias="PUBLIC_URL",
        description="This service's public base URL, used to build embed links; empty: the "
        "URL the request came in on.",
    )
    outbound_interval: float = Field(
        default=2.0,
        validation_alias="OUTBOUND_INTERVAL",
        description="Seconds between outbound-event dispatcher passes; 0 turns it off.",
    )
    outbound_timeout: float = Field(
        default=10.0,
        validation_alias="OUTBOUND_TIMEOUT",
        description="Seconds to wait for a subscriber's answer to one delivery.",
    )
    outbound_backoff_base: float = Field(
        default=2.0,
        validation_alias="OUTBOUND_BACKOFF_BASE",
        description="First retry delay (seconds); doubles with every failed attempt.",
    )
    outbound_backoff_cap: float = Field(
        default=3600.0,
        validation_alias="OUTBOUND_BACKOFF_CAP",
        description="Longest retry delay (seconds).",
    )
    outbound_max_attempts: int = Field(
        default=0,
        ge=0,
        validation_alias="OUTBOUND_MAX_ATTEMPTS",
        description="Attempts before a delivery is given up as `failed` and the next one is "
        "sent; 0 (default): retry forever, so a receiver gets every event, in order.",
    )
