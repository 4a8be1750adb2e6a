"""Azure DevOps service-hook deliveries → `SourceEvent` (docs/webhooks-reference.md §2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.errors import UnsupportedEvent
from outcomes.webhooks.events import Action, ItemState, SourceEvent
from outcomes.webhooks.mapping import person_name
from outcomes.webhooks.parsing import (
    invalid,
    item_id,
    label_list,
    load_object,
    opt_str,
    parse_date,
    parse_datetime,
)

HANDLED: dict[str, Action] = {
    "workitem.created": "upsert",
    "workitem.updated": "upsert",
    "workitem.deleted": "delete",
    "workitem.restored": "restore",
}
KNOWN_UNHANDLED = ("workitem.commented",)


def parse_ado(
    body: bytes, headers: dict[str, str], config: WebhookConfig, received_at: datetime
) -> SourceEvent:
    data = load_object(body)
    event = data.get("eventType")
    if not isinstance(event, str) or not event.strip():
        raise invalid(["eventType"], "required (e.g. workitem.updated)")
    notification = parse_datetime(data.get("createdDate")) or received_at
    event_id = str(data.get("id") or data.get("notificationId") or "")[:100]
    action = HANDLED.get(event)
    if action is None:
        if event not in KNOWN_UNHANDLED:
            raise UnsupportedEvent(
                f"Azure DevOps event {event[:100]!r} is not supported; subscribe to "
                f"{', '.join(HANDLED)}.",
                errors=[{"loc": ["body", "eventType"], "msg": "unsupported event"}],
            )
        return SourceEvent(
            source="ado",
            event_type=event,
            action="ignore",
            item_id=None,
            key=None,
            dedupe_key=f"{event}:{event_id}",
            order_at=notification,
            order_rev=None,
            state=None,
            note=f"event {event!r} does not change epics",
        )
    resource = data.get("resource")
    if not isinstance(resource, dict):
        raise invalid(["resource"], "required (set 'Resource details to send' to All)")
    if event == "workitem.updated":
        # resource.id is the *update* number; the work item is resource.workItemId and its
        # full state after this update is resource.revision.
        wid = item_id(resource.get("workItemId"), ["resource", "workItemId"])
        item = resource.get("revision")
        if not isinstance(item, dict):
            raise invalid(["resource", "revision"], "required (set 'Resource details' to All)")
        item_loc: list[str | int] = ["resource", "revision"]
        rev_value = item.get("rev", resource.get("rev"))
    else:
        wid = item_id(resource.get("id"), ["resource", "id"])
        item, item_loc = resource, ["resource"]
        rev_value = resource.get("rev")
    if isinstance(rev_value, bool) or not isinstance(rev_value, int) or rev_value < 0:
        raise invalid([*item_loc, "rev"], "required (the work item revision, an integer)")
    fields = item.get("fields")
    if fields is not None and not isinstance(fields, dict):
        raise invalid([*item_loc, "fields"], "must be an object")
    if fields is None and action != "delete":
        raise invalid([*item_loc, "fields"], "required (set 'Resource details' to All)")
    # created/updated: one per rev. Delete and restore keep the rev, so they are told apart
    # (and from their own redeliveries) by the event id, which is stable across retries.
    dedupe = f"{wid}:{rev_value}" if action == "upsert" else f"{wid}:{rev_value}:{event}:{event_id}"
    return SourceEvent(
        source="ado",
        event_type=event,
        action=action,
        item_id=wid,
        key=f"ADO-{wid}",
        dedupe_key=dedupe,
        order_at=notification,
        order_rev=rev_value,
        state=_state(fields, [*item_loc, "fields"], config) if fields is not None else None,
    )


def _state(fields: dict[str, Any], loc: list[str | int], config: WebhookConfig) -> ItemState:
    tags = fields.get("System.Tags")
    if tags is not None and not isinstance(tags, str):
        raise invalid([*loc, "System.Tags"], "must be a '; '-separated string")
    area = opt_str(fields.get("System.AreaPath"))
    return ItemState(
        item_type=opt_str(fields.get("System.WorkItemType")),
        title=opt_str(fields.get("System.Title")),
        status_name=opt_str(fields.get("System.State")),
        status_category=None,
        labels=label_list(
            [t for t in (tags or "").split(";") if t.strip()],
            [*loc, "System.Tags"],
            config.max_labels,
        ),
        owner=person_name(fields.get("System.AssignedTo")),
        team=(area.rsplit("\\", 1)[-1].strip() or None) if area else None,
        start_date=parse_date(fields.get("Microsoft.VSTS.Scheduling.StartDate")),
        target_date=parse_date(fields.get("Microsoft.VSTS.Scheduling.TargetDate")),
    )
