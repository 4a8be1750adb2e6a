"""`GET /v1/exports/epics.csv`: the portfolio as CSV for spreadsheets and BI tools."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ledgerkit.auth import ReadDep
from ledgerkit.errors import ValidationFailed, error_responses
from outcomes.epics.params import EpicFiltersDep
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
    request: Request, _: ReadDep, filters: EpicFiltersDep
) -> StreamingResponse:
    return StreamingResponse(
        epics_csv(request.app.state.db, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="epics.csv"'},
    )
