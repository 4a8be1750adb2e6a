"""Event types and how change-log entries map to them."""

from __future__ import annotations

# (entity, action) in the change log → the event type a subscriber sees.
CHANGE_EVENTS: dict[tuple[str, str], str] = {
    ("epic", "created"): "epic.created",
    ("epic", "updated"): "epic.updated",
    ("epic", "archived"): "epic.archived",
    ("epic", "restored"): "epic.restored",
    ("kpi", "created"): "kpi.created",
    ("kpi", "updated"): "kpi.updated",
    ("kpi", "baseline_agreed"): "baseline.agreed",
    ("measurement", "recorded"): "measurement.recorded",
    ("measurement", "corrected"): "measurement.corrected",
    ("contribution", "created"): "contribution.created",
    ("contribution", "updated"): "contribution.updated",
    ("contribution", "deleted"): "contribution.deleted",
    ("score", "created"): "score.created",
    ("decision", "recorded"): "decision.recorded",
}

# Reserved: accepted in subscriptions, not emitted yet — attribution publishes runs in its
# own database, and outcomes does not hear about them (see docs/portals.md).
RESERVED_EVENTS = ("run.published",)

EVENT_TYPES: tuple[str, ...] = (*CHANGE_EVENTS.values(), *RESERVED_EVENTS)
WILDCARD = "*"


def event_type(entity: str, action: str) -> str | None:
    return CHANGE_EVENTS.get((entity, action))


def wants(subscribed: list[str], event: str) -> bool:
    return WILDCARD in subscribed or event in subscribed
