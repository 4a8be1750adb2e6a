"""`/v1/epics/{ref}/scores` and `/v1/scores`: value-council scores (append-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ledgerkit.auth import ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import ValidationFailed, error_responses
from ledgerkit.etag import etag
from ledgerkit.pagination import CursorParam, LimitParam
from outcomes.epics.errors import EpicArchived, EpicNotFound
from outcomes.epics.service import get_epic
from outcomes.idempotency import IdempotentRoute
from outcomes.scores import service
from outcomes.scores.errors import ScoreNotFound
from outcomes.scores.schemas import Period, ScoreCreate, ScorePage, ScoreRead

router = APIRouter(tags=["scores"], route_class=IdempotentRoute)

# Scores never change: their ETag is always version 1.
_ETAG = etag(1)


@router.post(
    "/v1/epics/{ref}/scores",
    operation_id="scores-create_score",
    status_code=201,
    response_model=ScoreRead,
    responses=error_responses(EpicNotFound, EpicArchived, ValidationFailed),
)
async def create_score(
    ref: str, body: ScoreCreate, session: SessionDep, principal: WriteDep, response: Response
) -> ScoreRead:
    epic = await get_epic(session, ref)
    score = await service.create_score(session, epic, body, principal.name)
    response.headers["Location"] = f"/v1/scores/{score.id}"
    response.headers["ETag"] = _ETAG
    return score


@router.get(
    "/v1/scores",
    operation_id="scores-list_scores",
    response_model=ScorePage,
    responses=error_responses(EpicNotFound, ValidationFailed),
)
async def list_scores(
    session: SessionDep,
    _: ReadDep,
    period: Annotated[Period | None, Query()] = None,
    epic: Annotated[str | None, Query(max_length=100, description="Epic id or key.")] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> ScorePage:
    found = await get_epic(session, epic) if epic else None
    items, next_cursor = await service.list_scores(
        session, period=period, epic=found, limit=limit, cursor=cursor
    )
    return ScorePage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/scores/{score_id}",
    operation_id="scores-get_score",
    response_model=ScoreRead,
    responses=error_responses(ScoreNotFound),
)
async def get_score(
    score_id: str, session: SessionDep, _: ReadDep, response: Response
) -> ScoreRead:
    score = await service.get_score(session, score_id)
    response.headers["ETag"] = _ETAG
    return score
