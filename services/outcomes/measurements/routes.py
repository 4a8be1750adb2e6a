"""Measurement routes: bulk write, read as known at a time, and the version history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from ledgerkit.auth import ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import PayloadTooLarge, ValidationFailed, error_responses
from ledgerkit.pagination import CursorParam, LimitParam
from ledgerkit.timeutil import IsoDatetime
from outcomes.idempotency import IdempotentRoute
from outcomes.kpis.errors import KpiNotFound
from outcomes.kpis.service import get_kpi
from outcomes.measurements import service
from outcomes.measurements.schemas import (
    MeasurementPage,
    MeasurementVersionPage,
    MeasurementWriteResult,
    Segment,
    openapi_body,
    parse_measurements,
)

router = APIRouter(tags=["measurements"], route_class=IdempotentRoute)


@router.post(
    "/v1/kpis/{slug}/measurements",
    operation_id="measurements-record_measurements",
    status_code=201,
    response_model=MeasurementWriteResult,
    responses=error_responses(KpiNotFound, ValidationFailed, PayloadTooLarge),
    openapi_extra=openapi_body(),
    summary="Record one measurement or a list (≤ 10,000), all or nothing",
)
async def record_measurements(
    slug: str,
    payload: Annotated[Any, Body(include_in_schema=False)],
    session: SessionDep,
    principal: WriteDep,
) -> MeasurementWriteResult:
    rows, bulk = parse_measurements(payload)
    kpi = await get_kpi(session, slug, for_update=True)
    return await service.write_measurements(session, kpi, rows, actor=principal.name, bulk=bulk)


@router.get(
    "/v1/kpis/{slug}/measurements",
    operation_id="measurements-list_measurements",
    response_model=MeasurementPage,
    responses=error_responses(KpiNotFound, ValidationFailed),
)
async def list_measurements(
    slug: str,
    session: SessionDep,
    _: ReadDep,
    period_from: Annotated[
        str | None, Query(alias="from", max_length=16, description="First period (inclusive).")
    ] = None,
    period_to: Annotated[
        str | None, Query(alias="to", max_length=16, description="Last period (inclusive).")
    ] = None,
    segment: Annotated[Segment | None, Query()] = None,
    as_of: Annotated[
        IsoDatetime | None,
        Query(description="Answer with the values as they were known at this time (UTC)."),
    ] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> MeasurementPage:
    kpi = await get_kpi(session, slug)
    return await service.list_measurements(
        session,
        kpi,
        period_from=period_from,
        period_to=period_to,
        segment=segment,
        as_of=as_of,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/v1/kpis/{slug}/measurements/history",
    operation_id="measurements-list_measurement_versions",
    response_model=MeasurementVersionPage,
    responses=error_responses(KpiNotFound, ValidationFailed),
    summary="Every stored version of a period (corrections keep the old versions)",
)
async def list_measurement_versions(
    slug: str,
    session: SessionDep,
    _: ReadDep,
    period: Annotated[str, Query(max_length=16)],
    segment: Annotated[Segment | None, Query()] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> MeasurementVersionPage:
    kpi = await get_kpi(session, slug)
    return await service.list_versions(
        session, kpi, period=period, segment=segment, limit=limit, cursor=cursor
    )
