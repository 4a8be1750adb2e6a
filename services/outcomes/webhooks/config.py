"""What the webhook handlers read from settings, resolved once per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from outcomes.settings import OutcomesSettings

EPIC_STATUSES = ("proposed", "active", "paused", "done", "cut")

# Status names as the products ship them (lower-cased); settings entries override these.
DEFAULT_JIRA_STATUS_MAP: dict[str, str] = {
    "to do": "proposed",
    "open": "proposed",
    "backlog": "proposed",
    "new": "proposed",
    "selected for development": "proposed",
    "in progress": "active",
    "in review": "active",
    "in development": "active",
    "on hold": "paused",
    "blocked": "paused",
    "paused": "paused",
    "done": "done",
    "closed": "done",
    "resolved": "done",
    "won't do": "cut",
    "cancelled": "cut",
    "canceled": "cut",
}
# Jira's three status categories; used when a (renamed) status is not in the map.
JIRA_CATEGORY_MAP: dict[str, str] = {"new": "proposed", "indeterminate": "active", "done": "done"}

DEFAULT_ADO_STATE_MAP: dict[str, str] = {
    "new": "proposed",
    "proposed": "proposed",
    "to do": "proposed",
    "approved": "proposed",
    "active": "active",
    "in progress": "active",
    "committed": "active",
    "doing": "active",
    "on hold": "paused",
    "resolved": "done",
    "closed": "done",
    "done": "done",
    "completed": "done",
    "removed": "cut",
}


@dataclass(frozen=True)
class WebhookConfig:
    jira_secret: str = ""
    ado_basic_user: str = ""
    ado_basic_password: str = ""
    ado_header_name: str = "X-Outcome-Ledger-Token"
    ado_header_secret: str = ""
    epic_types: frozenset[str] = frozenset({"epic"})
    jira_stream_prefix: str = "outcome-"
    jira_kpi_prefix: str = "kpi-"
    ado_stream_prefix: str = "Outcome:"
    ado_kpi_prefix: str = "KPI:"
    jira_status_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_JIRA_STATUS_MAP))
    ado_state_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ADO_STATE_MAP))
    jira_start_date_field: str = "customfield_10015"
    max_labels: int = 100

    @property
    def ado_auth_configured(self) -> bool:
        return bool(self.ado_basic_user or self.ado_basic_password or self.ado_header_secret)

    @classmethod
    def from_settings(cls, s: OutcomesSettings) -> WebhookConfig:
        return cls(
            jira_secret=s.jira_webhook_secret.get_secret_value(),
            ado_basic_user=s.ado_basic_user,
            ado_basic_password=s.ado_basic_password.get_secret_value(),
            ado_header_name=s.ado_header_name,
            ado_header_secret=s.ado_header_secret.get_secret_value(),
            epic_types=frozenset(t.strip().casefold() for t in s.webhook_epic_types if t.strip()),
            jira_stream_prefix=s.jira_stream_label_prefix,
            jira_kpi_prefix=s.jira_kpi_label_prefix,
            ado_stream_prefix=s.ado_stream_tag_prefix,
            ado_kpi_prefix=s.ado_kpi_tag_prefix,
            jira_status_map=DEFAULT_JIRA_STATUS_MAP
            | {k.strip().casefold(): v for k, v in s.jira_status_map.items()},
            ado_state_map=DEFAULT_ADO_STATE_MAP
            | {k.strip().casefold(): v for k, v in s.ado_state_map.items()},
            jira_start_date_field=s.jira_start_date_field,
            max_labels=s.webhook_max_labels,
        )
