"""`GET /v1/exports/epics.csv`: the portfolio as CSV for spreadsheets and BI tools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from ledgerkit.auth import ReadDep
from ledgerkit.errors import ValidationFailed, error_responses
from outcomes.epics.schemas import EpicFilters, EpicSource, EpicStatus, StreamName
from outcomes.exports.service import epics_csv

router = APIRouter(tags=["exports"])

_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One row per epic × KPI (header: key, title, streams, status, team, kpi, "
        "unit, baseline, target, due, latest_value, latest_period).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/v1/exports/epics.csv",
    operation_id="exports-export_epics_csv",
    response_class=StreamingResponse,
    responses={**_CSV_DOC, **error_responses(ValidationFailed)},
)
async def export_epics_csv(
    request: Request,
    _: ReadDep,
    stream: Annotated[StreamName | None, Query(description="Revenue, Cost, Risk or CX.")] = None,
    status: Annotated[EpicStatus | None, Query()] = None,
    kpi: Annotated[str | None, Query(max_length=100, description="KPI slug.")] = None,
    source: Annotated[EpicSource | None, Query()] = None,
    team: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    include_archived: bool = False,
) -> StreamingResponse:
    filters = EpicFilters(
        stream=stream,
        status=status,
        kpi=kpi,
        source=source,
        team=team,
        q=q,
        include_archived=include_archived,
    )
    return StreamingResponse(
        epics_csv(request.app.state.db, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="epics.csv"'},
    )
