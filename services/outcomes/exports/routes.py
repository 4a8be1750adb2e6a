"""`GET /v1/exports/epics.csv`: the portfolio as CSV for spreadsheets and BI tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
    """Streamed in batches of 500 epics. The first batch is read before the answer starts,
    so a database outage at that point is a 503 problem, not a cut-off CSV."""
    return StreamingResponse(
        await _started(epics_csv(request.app.state.db, filters)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="epics.csv"'},
    )


async def _started(chunks: AsyncIterator[str]) -> AsyncIterator[str]:
    """`chunks` with its header and first batch already produced (errors raised here)."""
    head: list[str] = []
    async for chunk in chunks:
        head.append(chunk)
        if len(head) == 2:  # the header line, then the first batch of rows
            break

    async def rest() -> AsyncIterator[str]:
        for chunk in head:
            yield chunk
        async for chunk in chunks:
            yield chunk

    return rest()
