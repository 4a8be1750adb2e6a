"""`/v1/subscriptions` (admin): outbound event subscriptions and their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ledgerkit.auth import AdminDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import ValidationFailed, error_responses
from ledgerkit.pagination import CursorParam, LimitParam, decode_cursor, encode_cursor
from outcomes.subscriptions import service
from outcomes.subscriptions.errors import SubscriptionNotFound
from outcomes.subscriptions.schemas import (
    DeliveryPage,
    DeliveryStatus,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPage,
    SubscriptionRead,
)

router = APIRouter(tags=["subscriptions"])


def _after_pk(cursor: str | None) -> int | None:
    pos = decode_cursor(cursor)
    if pos is None:
        return None
    if not isinstance(pos, int):
        raise ValidationFailed(
            "The cursor is not one this service issued; start again without `cursor`.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    return pos


@router.post(
    "/v1/subscriptions",
    operation_id="subscriptions-create_subscription",
    status_code=201,
    response_model=SubscriptionCreated,
    response_model_exclude_none=False,
    responses=error_responses(ValidationFailed),
)
async def create_subscription(
    body: SubscriptionCreate, session: SessionDep, _: AdminDep, response: Response
) -> SubscriptionCreated:
    """Events from the change log are POSTed to `url`, signed with `secret`
    (`X-Ledger-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`)."""
    created = await service.create_subscription(session, body)
    response.headers["Location"] = f"/v1/subscriptions/{created.id}"
    return created


@router.get(
    "/v1/subscriptions",
    operation_id="subscriptions-list_subscriptions",
    response_model=SubscriptionPage,
    responses=error_responses(ValidationFailed),
)
async def list_subscriptions(
    session: SessionDep,
    _: AdminDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    include_inactive: bool = False,
) -> SubscriptionPage:
    items, last = await service.list_subscriptions(
        session, after_pk=_after_pk(cursor), limit=limit, include_inactive=include_inactive
    )
    return SubscriptionPage(
        items=items, next_cursor=encode_cursor(last) if last is not None else None
    )


@router.get(
    "/v1/subscriptions/{subscription_id}",
    operation_id="subscriptions-get_subscription",
    response_model=SubscriptionRead,
    responses=error_responses(SubscriptionNotFound),
)
async def get_subscription(
    subscription_id: str, session: SessionDep, _: AdminDep
) -> SubscriptionRead:
    return await service.read_subscription(session, subscription_id)


@router.delete(
    "/v1/subscriptions/{subscription_id}",
    operation_id="subscriptions-delete_subscription",
    status_code=204,
    responses=error_responses(SubscriptionNotFound),
)
async def delete_subscription(subscription_id: str, session: SessionDep, _: AdminDep) -> Response:
    """Deactivates the subscription: nothing more is sent; it and its deliveries stay
    readable (`include_inactive=true`)."""
    await service.deactivate_subscription(session, subscription_id)
    return Response(status_code=204)


@router.get(
    "/v1/subscriptions/{subscription_id}/deliveries",
    operation_id="subscriptions-list_deliveries",
    response_model=DeliveryPage,
    responses=error_responses(SubscriptionNotFound, ValidationFailed),
)
async def list_deliveries(
    subscription_id: str,
    session: SessionDep,
    _: AdminDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> DeliveryPage:
    """Deliveries in the order they were queued (change-log order)."""
    items, last = await service.list_deliveries(
        session, subscription_id, status=status, after_pk=_after_pk(cursor), limit=limit
    )
    return DeliveryPage(
        items=list(items), next_cursor=encode_cursor(last) if last is not None else None
    )
