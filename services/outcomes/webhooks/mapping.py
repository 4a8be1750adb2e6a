"""Labels/tags → streams and KPI links, source status names → epic status, people fields.

Pure functions over the parsed event and the config, so the mapping rules are readable and
tested without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from outcomes.webhooks.config import JIRA_CATEGORY_MAP, WebhookConfig
from outcomes.webhooks.events import ItemState

STREAMS = ("Revenue", "Cost", "Risk", "CX")
_STREAM_BY_FOLD = {s.casefold(): s for s in STREAMS}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # as KPI slugs are
_PERSON = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<address>[^<>]*)>\s*$")


@dataclass
class LabelMapping:
    streams: list[str] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def warning(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def map_labels(labels: tuple[str, ...], stream_prefix: str, kpi_prefix: str) -> LabelMapping:
    """`outcome-cx` → stream CX, `kpi-checkout-conversion` → KPI link; prefixes and the
    names after them are case-insensitive. Other labels are kept on the epic but mean
    nothing to the ledger. A prefixed label naming no stream is a warning, not an error."""
    out = LabelMapping()
    sp, kp = stream_prefix.casefold(), kpi_prefix.casefold()
    for raw in labels:
        label = raw.strip()
        folded = label.casefold()
        if folded.startswith(sp):
            name = label[len(stream_prefix) :].strip()
            stream = _STREAM_BY_FOLD.get(name.casefold())
            if stream is None:
                out.warnings.append(
                    warning(
                        "unknown-stream",
                        f"label {label!r} names no stream (allowed: {', '.join(STREAMS)})",
                        label=label,
                    )
                )
            elif stream not in out.streams:
                out.streams.append(stream)
        elif folded.startswith(kp):
            slug = label[len(kpi_prefix) :].strip().casefold()
            if not _SLUG.match(slug):
                out.warnings.append(
                    warning("invalid-kpi-label", f"label {label!r} names no KPI slug", label=label)
                )
            elif slug not in out.kpis:
                out.kpis.append(slug)
    out.streams.sort(key=STREAMS.index)
    return out


def map_status(source: str, state: ItemState, config: WebhookConfig) -> str | None:
    """The epic status for the source's status name; for Jira a renamed status falls back
    to its status category. None when nothing maps (the epic keeps its status)."""
    name = (state.status_name or "").strip().casefold()
    table = config.jira_status_map if source == "jira" else config.ado_state_map
    if name in table:
        return table[name]
    if source == "jira" and state.status_category:
        return JIRA_CATEGORY_MAP.get(state.status_category.casefold())
    return None


def person_name(value: Any) -> str | None:
    """People as the products send them: ADO `"Name <email>"` (or `"Name <DOMAIN\\user>"`),
    an ADO identity object, or a Jira user object. The display name is what the ledger keeps;
    a bare address is kept when there is no name."""
    if isinstance(value, dict):
        for k in ("displayName", "name", "uniqueName", "emailAddress"):
            v = value.get(k)
            if isinstance(v, str) and v.strip():
                return person_name(v) if k != "displayName" else v.strip()
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    m = _PERSON.match(value)
    if m:
        return m.group("name") or m.group("address").strip() or None
    return value.strip()
