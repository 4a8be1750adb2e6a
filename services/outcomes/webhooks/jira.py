"""Jira Cloud deliveries → `SourceEvent` (see docs/webhooks-reference.md §1)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.errors import UnsupportedEvent
from outcomes.webhooks.events import Action, ItemState, SourceEvent
from outcomes.webhooks.mapping import person_name
from outcomes.webhooks.parsing import (
    epoch_ms,
    invalid,
    item_id,
    label_list,
    load_object,
    opt_str,
    parse_date,
    parse_datetime,
)

_KEY = re.compile(r"^[A-Za-z0-9][\w.:-]*$")  # what an epic key may be
HANDLED: dict[str, Action] = {
    "jira:issue_created": "upsert",
    "jira:issue_updated": "upsert",
    "jira:issue_deleted": "delete",
}
# Events a Jira webhook may also be subscribed to: acknowledged (202) and recorded `ignored`.
KNOWN_PREFIXES = (
    "jira:",
    "comment_",
    "attachment_",
    "issuelink_",
    "worklog_",
    "sprint_",
    "board_",
    "project_",
    "jira:version_",
    "user_",
    "option_",
    "issuetype_",
)


def parse_jira(
    body: bytes, headers: dict[str, str], config: WebhookConfig, received_at: datetime
) -> SourceEvent:
    data = load_object(body)
    event = data.get("webhookEvent")
    if not isinstance(event, str) or not event.strip():
        raise invalid(["webhookEvent"], "required (e.g. jira:issue_updated)")
    issue = data.get("issue")
    identifier = (headers.get("x-atlassian-webhook-identifier") or "").strip()[:200]
    timestamp = epoch_ms(data.get("timestamp"))
    action = HANDLED.get(event)
    if action is None:
        if not event.startswith(KNOWN_PREFIXES):
            raise UnsupportedEvent(
                f"Jira event {event[:100]!r} is not supported; subscribe the webhook to "
                f"{', '.join(HANDLED)}.",
                errors=[{"loc": ["body", "webhookEvent"], "msg": "unsupported event"}],
            )
        iid = str(issue.get("id")) if isinstance(issue, dict) and issue.get("id") else None
        return SourceEvent(
            source="jira",
            event_type=event[:100],
            action="ignore",
            item_id=iid,
            key=None,
            dedupe_key=identifier or f"{event[:100]}:{iid}:{data.get('timestamp')}",
            order_at=timestamp or received_at,
            order_rev=None,
            state=None,
            note=f"event {event!r} does not change epics",
        )
    if not isinstance(issue, dict):
        raise invalid(["issue"], "required (an object with id, key and fields)")
    iid = item_id(issue.get("id"), ["issue", "id"])
    key = opt_str(issue.get("key"))
    if key is None or len(key) > 100 or not _KEY.match(key):
        raise invalid(["issue", "key"], "required (an issue key such as PAY-12)")
    fields = issue.get("fields")
    if fields is not None and not isinstance(fields, dict):
        raise invalid(["issue", "fields"], "must be an object")
    if fields is None and action != "delete":
        raise invalid(["issue", "fields"], "required for created/updated events")
    state = _state(fields, config) if fields is not None else None
    updated = parse_datetime(fields.get("updated")) if fields else None
    host = urlsplit(str(issue.get("self") or "")).hostname or "jira"
    return SourceEvent(
        source="jira",
        event_type=event,
        action=action,
        item_id=iid,
        key=key,
        # The identifier is unique per site and stable across retries.
        dedupe_key=f"{host}:{identifier}" if identifier else f"{host}:{event}:{iid}:{updated}",
        order_at=updated or timestamp or received_at,
        order_rev=None,
        state=state,
    )


def _state(fields: dict[str, Any], config: WebhookConfig) -> ItemState:
    labels = fields.get("labels")
    if labels is None:
        labels = []
    if not isinstance(labels, list):
        raise invalid(["issue", "fields", "labels"], "must be a list of strings")
    status = fields.get("status") if isinstance(fields.get("status"), dict) else {}
    category = status.get("statusCategory") if isinstance(status, dict) else None
    issuetype = fields.get("issuetype")
    project = fields.get("project")
    return ItemState(
        item_type=opt_str(issuetype.get("name")) if isinstance(issuetype, dict) else None,
        title=opt_str(fields.get("summary")),
        status_name=opt_str(status.get("name")) if isinstance(status, dict) else None,
        status_category=opt_str(category.get("key")) if isinstance(category, dict) else None,
        labels=label_list(labels, ["issue", "fields", "labels"], config.max_labels),
        owner=person_name(fields.get("assignee")),
        team=opt_str(project.get("name")) if isinstance(project, dict) else None,
        start_date=parse_date(fields.get(config.jira_start_date_field)),
        target_date=parse_date(fields.get("duedate")),
    )
