"""KPI routes: create, list, read, merge-patch, agree a baseline (finance)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from ledgerkit.auth import FinanceDep, ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import PreconditionFailed, ValidationFailed, error_responses
from ledgerkit.etag import IfMatchHeader, check_version, etag, expected_version
from ledgerkit.pagination import CursorParam, LimitParam
from outcomes.idempotency import IdempotentRoute
from outcomes.kpis import service
from outcomes.kpis.errors import CadenceInUse, DuplicateKpiSlug, KpiNotFound
from outcomes.kpis.schemas import (
    BaselineAgree,
    KpiCreate,
    KpiPage,
    KpiRead,
    KpiUpdate,
    ScorecardLine,
    StreamIn,
)

router = APIRouter(tags=["kpis"], route_class=IdempotentRoute)


@router.post(
    "/v1/kpis",
    operation_id="kpis-create_kpi",
    status_code=201,
    response_model=KpiRead,
    responses=error_responses(DuplicateKpiSlug, ValidationFailed),
)
async def create_kpi(
    body: KpiCreate, session: SessionDep, principal: WriteDep, response: Response
) -> KpiRead:
    kpi = await service.create_kpi(session, body, actor=principal.name)
    response.headers["Location"] = f"/v1/kpis/{kpi.slug}"
    response.headers["ETag"] = etag(kpi.version)
    return service.kpi_read(kpi)


@router.get(
    "/v1/kpis",
    operation_id="kpis-list_kpis",
    response_model=KpiPage,
    responses=error_responses(ValidationFailed),
)
async def list_kpis(
    session: SessionDep,
    _: ReadDep,
    stream: Annotated[StreamIn | None, Query(description="Revenue, Cost, Risk or CX.")] = None,
    scorecard_line: ScorecardLine | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Search in name and slug.")] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> KpiPage:
    return await service.list_kpis(
        session,
        limit=limit,
        cursor=cursor,
        stream=stream,
        scorecard_line=scorecard_line,
        q=q,
    )


@router.get(
    "/v1/kpis/{slug}",
    operation_id="kpis-get_kpi",
    response_model=KpiRead,
    responses=error_responses(KpiNotFound),
)
async def get_kpi(slug: str, session: SessionDep, _: ReadDep, response: Response) -> KpiRead:
    kpi = await service.get_kpi(session, slug)
    response.headers["ETag"] = etag(kpi.version)
    return service.kpi_read(kpi)


@router.patch(
    "/v1/kpis/{slug}",
    operation_id="kpis-update_kpi",
    response_model=KpiRead,
    responses=error_responses(KpiNotFound, PreconditionFailed, CadenceInUse, ValidationFailed),
)
async def update_kpi(
    slug: str,
    body: Annotated[
        KpiUpdate,
        Body(openapi_examples={"rename": {"value": {"name": "Checkout conversion rate"}}}),
    ],
    session: SessionDep,
    principal: WriteDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> KpiRead:
    kpi = await service.get_kpi(session, slug, for_update=True)
    check_version(expected_version(if_match, kpi.version), kpi.version, f"KPI {slug!r}")
    kpi = await service.update_kpi(session, kpi, body, actor=principal.name)
    response.headers["ETag"] = etag(kpi.version)
    return service.kpi_read(kpi)


@router.put(
    "/v1/kpis/{slug}/baseline",
    operation_id="kpis-agree_baseline",
    response_model=KpiRead,
    responses=error_responses(KpiNotFound, PreconditionFailed, ValidationFailed),
)
async def agree_baseline(
    slug: str,
    body: BaselineAgree,
    session: SessionDep,
    principal: FinanceDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> KpiRead:
    kpi = await service.get_kpi(session, slug, for_update=True)
    check_version(expected_version(if_match, kpi.version), kpi.version, f"KPI {slug!r}")
    kpi = await service.agree_baseline(session, kpi, body, actor=principal.name)
    response.headers["ETag"] = etag(kpi.version)
    return service.kpi_read(kpi)
