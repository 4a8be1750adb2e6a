"""`/v1/epics/{ref}/contributions`: link epics to the KPIs they move (overlap guard → 409)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ledgerkit.auth import ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import PreconditionFailed, ValidationFailed, error_responses
from ledgerkit.etag import IfMatchHeader, etag
from ledgerkit.pagination import CursorParam, LimitParam
from outcomes.contributions import service
from outcomes.contributions.errors import (
    ContributionNotFound,
    DuplicateContribution,
)
from outcomes.contributions.schemas import (
    ContributionCreate,
    ContributionPage,
    ContributionRead,
    ContributionUpdate,
)
from outcomes.epics.errors import EpicNotFound
from outcomes.epics.service import get_epic
from outcomes.idempotency import IdempotentRoute

router = APIRouter(tags=["contributions"], route_class=IdempotentRoute)


@router.post(
    "/v1/epics/{ref}/contributions",
    operation_id="contributions-create_contribution",
    status_code=201,
    response_model=ContributionRead,
    responses=error_responses(EpicNotFound, DuplicateContribution, ValidationFailed),
    summary="Link an epic to a KPI (409 when the claimed shares would exceed 1)",
)
async def create_contribution(
    ref: str,
    body: ContributionCreate,
    session: SessionDep,
    principal: WriteDep,
    response: Response,
) -> ContributionRead:
    epic = await get_epic(session, ref)
    read = await service.add_contribution(
        session,
        epic,
        body.kpi,
        expected_uplift=body.expected_uplift,
        expected_by=body.expected_by,
        claimed_share=body.claimed_share,
        actor=principal.name,
    )
    response.headers["Location"] = f"/v1/epics/{read.epic_id}/contributions/{read.kpi}"
    response.headers["ETag"] = etag(read.version)
    return read


@router.get(
    "/v1/epics/{ref}/contributions",
    operation_id="contributions-list_contributions",
    response_model=ContributionPage,
    responses=error_responses(EpicNotFound, ValidationFailed),
)
async def list_contributions(
    ref: str,
    session: SessionDep,
    _: ReadDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> ContributionPage:
    epic = await get_epic(session, ref)
    return await service.list_contributions(session, epic, limit=limit, cursor=cursor)


@router.get(
    "/v1/epics/{ref}/contributions/{kpi}",
    operation_id="contributions-get_contribution",
    response_model=ContributionRead,
    responses=error_responses(ContributionNotFound),
)
async def get_contribution(
    ref: str, kpi: str, session: SessionDep, _: ReadDep, response: Response
) -> ContributionRead:
    epic = await get_epic(session, ref)
    read = await service.get_contribution(session, epic, kpi)
    response.headers["ETag"] = etag(read.version)
    return read


@router.patch(
    "/v1/epics/{ref}/contributions/{kpi}",
    operation_id="contributions-update_contribution",
    response_model=ContributionRead,
    responses=error_responses(ContributionNotFound, PreconditionFailed, ValidationFailed),
)
async def update_contribution(
    ref: str,
    kpi: str,
    body: ContributionUpdate,
    session: SessionDep,
    principal: WriteDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ContributionRead:
    epic = await get_epic(session, ref)
    read = await service.update_contribution(
        session, epic, kpi, body, if_match=if_match, actor=principal.name
    )
    response.headers["ETag"] = etag(read.version)
    return read


@router.delete(
    "/v1/epics/{ref}/contributions/{kpi}",
    operation_id="contributions-delete_contribution",
    status_code=204,
    responses=error_responses(ContributionNotFound, PreconditionFailed),
)
async def delete_contribution(
    ref: str,
    kpi: str,
    session: SessionDep,
    principal: WriteDep,
    if_match: IfMatchHeader = None,
) -> Response:
    epic = await get_epic(session, ref)
    await service.delete_contribution(session, epic, kpi, if_match=if_match, actor=principal.name)
    return Response(status_code=204)
