"""`GET /v1/sync` (replica position and lag) and `POST /v1/sync` (catch up now)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from attribution.replica import service
from attribution.replica.errors import FeedInconsistent, OutcomesUnavailable
from attribution.replica.follower import Follower
from attribution.replica.schemas import SyncRead, SyncRunRead
from ledgerkit.auth import ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import error_responses

router = APIRouter(tags=["sync"])


@router.get("/v1/sync", operation_id="sync-get_sync", response_model=SyncRead)
async def get_sync(session: SessionDep, _: ReadDep) -> SyncRead:
    return await service.sync_state(session)


@router.post(
    "/v1/sync",
    operation_id="sync-run_sync",
    response_model=SyncRunRead,
    responses=error_responses(OutcomesUnavailable, FeedInconsistent),
)
async def run_sync(request: Request, _: WriteDep) -> SyncRunRead:
    """Catch up with the outcomes change feed now (the background follower does this every
    `SYNC_INTERVAL` seconds)."""
    follower: Follower = request.app.state.follower
    result = await follower.sync_once()
    async with request.app.state.db.session() as session:
        state = await service.sync_state(session)
    return SyncRunRead(
        **state.model_dump(), applied=result.applied, pages=result.pages, seconds=result.seconds
    )
