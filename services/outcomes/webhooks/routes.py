"""`POST /webhooks/jira`, `POST /webhooks/azure-devops` (own secrets, no API key) and the
admin inbox `GET /v1/webhook-deliveries[/{id}]`, `POST /v1/webhook-deliveries/{id}/replay`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from ledgerkit.auth import AdminDep
from ledgerkit.db import Database
from ledgerkit.errors import ValidationFailed, error_responses
from ledgerkit.fastjson import json_response
from ledgerkit.middleware import accepts_truncated_body
from ledgerkit.pagination import CursorParam, LimitParam, decode_cursor, encode_cursor
from ledgerkit.timeutil import as_utc
from outcomes.models import WebhookDelivery
from outcomes.webhooks import service, store
from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.errors import (
    DeliveryNotFound,
    DeliveryNotReplayable,
    DeliveryTooLarge,
    InvalidDelivery,
    MalformedDelivery,
    WebhookStoreUnavailable,
    WebhookUnauthorized,
)
from outcomes.webhooks.schemas import (
    DeliveryAccepted,
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    SourceName,
)

router = APIRouter(tags=["webhooks"])

_RECEIVE_ERRORS = error_responses(
    MalformedDelivery,
    WebhookUnauthorized,
    DeliveryTooLarge,
    InvalidDelivery,
    WebhookStoreUnavailable,
)
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _config(request: Request) -> WebhookConfig:
    config: WebhookConfig | None = getattr(request.app.state, "webhook_config", None)
    if config is None:
        config = WebhookConfig.from_settings(request.app.state.settings)
        request.app.state.webhook_config = config
    return config


async def _receive(request: Request, source: str) -> Response:
    body = await request.body()
    oversized = None
    if getattr(request.state, "body_too_large", False):
        oversized = int(getattr(request.state, "body_size", len(body)))
    db: Database = request.app.state.db
    headers = {k.lower(): v for k, v in request.headers.items()}
    accepted = await service.receive(
        db,
        source,
        headers,
        body,
        _config(request),
        oversized=oversized,
        batcher=getattr(request.app.state, "webhook_batcher", None),
    )
    # Serialized once here (FastAPI does not validate a returned Response again); the
    # shape is `DeliveryAccepted`, as documented by `response_model`.
    return json_response(
        {
            "delivery_id": accepted.delivery_id,
            "status": accepted.status,
            "reason": accepted.reason,
        },
        status_code=202,
    )


@router.post(
    "/webhooks/jira",
    operation_id="webhooks-receive_jira",
    status_code=202,
    response_model=DeliveryAccepted,
    responses=_RECEIVE_ERRORS,
    openapi_extra=_BODY,
    summary="Jira Cloud webhook (jira:issue_created|updated|deleted)",
)
@accepts_truncated_body
async def receive_jira(request: Request) -> Response:
    """Signed with `X-Hub-Signature: sha256=<hex>` when JIRA_WEBHOOK_SECRET is set; deduped
    on `X-Atlassian-Webhook-Identifier`. Every delivery is recorded, rejected ones too."""
    return await _receive(request, "jira")


@router.post(
    "/webhooks/azure-devops",
    operation_id="webhooks-receive_azure_devops",
    status_code=202,
    response_model=DeliveryAccepted,
    responses=_RECEIVE_ERRORS,
    openapi_extra=_BODY,
    summary="Azure DevOps service hook (workitem.created|updated|deleted|restored)",
)
@accepts_truncated_body
async def receive_azure_devops(request: Request) -> Response:
    """Basic auth (ADO_BASIC_USER/PASSWORD) and/or a shared-secret header
    (ADO_HEADER_NAME/SECRET); ordered by rev per work item, deduped on work item + rev."""
    return await _receive(request, "ado")


def _read(d: WebhookDelivery, body_size: int | None = None) -> dict[str, Any]:
    return {
        "id": d.id,
        "source": d.source,
        "event_type": d.event_type,
        "status": d.status,
        "reason": d.reason,
        "dedupe_key": d.dedupe_key,
        "item_key": d.item_key,
        "item_order": d.item_order,
        "epic_id": d.epic_id,
        "attempts": d.attempts,
        "headers": dict(d.headers or {}),
        "body_size": body_size if body_size is not None else len(d.body or b""),
        "received_at": as_utc(d.received_at),
        "processed_at": as_utc(d.processed_at) if d.processed_at else None,
    }


def _detail(d: WebhookDelivery) -> DeliveryDetail:
    return DeliveryDetail(**_read(d), body=(d.body or b"").decode("utf-8", errors="replace"))


@router.get(
    "/v1/webhook-deliveries",
    operation_id="webhooks-list_webhook_deliveries",
    response_model=DeliveryPage,
)
async def list_webhook_deliveries(
    request: Request,
    _: AdminDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    source: Annotated[SourceName | None, Query(description="`jira` or `ado`.")] = None,
) -> DeliveryPage:
    """The inbox in arrival order (e.g. `?status=failed` to find what needs a replay)."""
    after = decode_cursor(cursor)
    if after is not None and (not isinstance(after, int) or isinstance(after, bool)):
        raise ValidationFailed(
            "The cursor is not one this list issued; start again without `cursor`.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    db: Database = request.app.state.db
    async with db.session() as session:
        rows = list(
            await store.list_page(
                session, status=status, source=source, after_pk=after, limit=limit + 1
            )
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(
        items=[DeliveryRead(**_read(d, size)) for d, size in rows],
        next_cursor=encode_cursor(rows[-1][0].pk) if more and rows else None,
    )


DeliveryId = Annotated[str, Path(max_length=64)]


@router.get(
    "/v1/webhook-deliveries/{delivery_id}",
    operation_id="webhooks-get_webhook_delivery",
    response_model=DeliveryDetail,
    responses=error_responses(DeliveryNotFound),
)
async def get_webhook_delivery(
    request: Request, delivery_id: DeliveryId, _: AdminDep
) -> DeliveryDetail:
    db: Database = request.app.state.db
    async with db.session() as session:
        delivery = await store.get(session, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"No webhook delivery has the id {delivery_id!r}.")
    return _detail(delivery)


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/replay",
    operation_id="webhooks-replay_webhook_delivery",
    response_model=DeliveryDetail,
    responses=error_responses(DeliveryNotFound, DeliveryNotReplayable, WebhookStoreUnavailable),
)
async def replay_webhook_delivery(
    request: Request, delivery_id: DeliveryId, _: AdminDep
) -> DeliveryDetail:
    """Process the stored delivery again with the current configuration (any status; it is
    still deduped and ordered). The result is in `status` / `reason`."""
    delivery = await service.replay(request.app.state.db, delivery_id, _config(request))
    return _detail(delivery)
