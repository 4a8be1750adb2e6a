"""`/v1/epics/{ref}/decisions` and `/v1/decisions`: the append-only decision log (there is
deliberately no PUT, PATCH or DELETE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ledgerkit.auth import ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import ValidationFailed, error_responses
from ledgerkit.etag import etag
from ledgerkit.pagination import CursorParam, LimitParam
from outcomes.decisions import service
from outcomes.decisions.errors import DecisionNotFound
from outcomes.decisions.schemas import DecisionCreate, DecisionPage, DecisionRead
from outcomes.epics.errors import EpicArchived, EpicNotFound
from outcomes.epics.service import get_epic
from outcomes.idempotency import IdempotentRoute

router = APIRouter(tags=["decisions"], route_class=IdempotentRoute)

# Decisions never change: their ETag is always version 1.
_ETAG = etag(1)


@router.post(
    "/v1/epics/{ref}/decisions",
    operation_id="decisions-record_decision",
    status_code=201,
    response_model=DecisionRead,
    responses=error_responses(EpicNotFound, EpicArchived, ValidationFailed),
)
async def record_decision(
    ref: str, body: DecisionCreate, session: SessionDep, principal: WriteDep, response: Response
) -> DecisionRead:
    epic = await get_epic(session, ref)
    decision = await service.record_decision(session, epic, body, principal.name)
    response.headers["Location"] = f"/v1/decisions/{decision.id}"
    response.headers["ETag"] = _ETAG
    return decision


@router.get(
    "/v1/decisions",
    operation_id="decisions-list_decisions",
    response_model=DecisionPage,
    responses=error_responses(EpicNotFound, ValidationFailed),
)
async def list_decisions(
    session: SessionDep,
    _: ReadDep,
    epic: Annotated[str | None, Query(max_length=100, description="Epic id or key.")] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> DecisionPage:
    found = await get_epic(session, epic) if epic else None
    items, next_cursor = await service.list_decisions(
        session, epic=found, limit=limit, cursor=cursor
    )
    return DecisionPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/decisions/{decision_id}",
    operation_id="decisions-get_decision",
    response_model=DecisionRead,
    responses=error_responses(DecisionNotFound),
)
async def get_decision(
    decision_id: str, session: SessionDep, _: ReadDep, response: Response
) -> DecisionRead:
    decision = await service.get_decision(session, decision_id)
    response.headers["ETag"] = _ETAG
    return decision
