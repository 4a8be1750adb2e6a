"""Runs: `POST/GET /v1/runs`, `GET /v1/runs/{id}`, lines and verify."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from attribution.idempotency import IdempotentRoute
from attribution.rulesets.errors import RuleSetNotFound, VersionNotFound
from attribution.runs import service
from attribution.runs.errors import (
    NoAgreedVersion,
    RunInputsInvalid,
    RunNotFound,
    ScopeRequired,
    VersionNotRunnable,
)
from attribution.runs.schemas import (
    BenefitLinePage,
    RunCreate,
    RunPage,
    RunRead,
    VerifyRead,
)
from ledgerkit.auth import ReadDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import error_responses
from ledgerkit.pagination import CursorParam, LimitParam

router = APIRouter(tags=["runs"], route_class=IdempotentRoute)


@router.post(
    "/v1/runs",
    operation_id="runs-create_run",
    status_code=status.HTTP_201_CREATED,
    response_model=RunRead,
    responses=error_responses(
        RuleSetNotFound,
        VersionNotFound,
        NoAgreedVersion,
        VersionNotRunnable,
        ScopeRequired,
        RunInputsInvalid,
    ),
)
async def create_run(
    body: RunCreate, request: Request, session: SessionDep, principal: ReadDep, response: Response
) -> RunRead:
    """Compute benefit for a range. Official runs (`preview: false`, the default) need the
    `finance` scope and an agreed version; previews need `write` and may use a draft."""
    run = await service.create_run(request.app.state.db, session, principal, body)
    response.headers["Location"] = f"/v1/runs/{run.id}"
    return run


@router.get(
    "/v1/runs",
    operation_id="runs-list_runs",
    response_model=RunPage,
    responses=error_responses(RuleSetNotFound),
)
async def list_runs(
    session: SessionDep,
    _: ReadDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    ruleset: Annotated[str | None, Query(description="Rule set id or name.")] = None,
    status: Literal["official", "preview"] | None = None,
) -> RunPage:
    """Newest first."""
    return await service.list_runs(session, limit, cursor, ruleset=ruleset, status=status)


@router.get(
    "/v1/runs/{run_id}",
    operation_id="runs-get_run",
    response_model=RunRead,
    responses=error_responses(RunNotFound),
)
async def get_run(run_id: str, session: SessionDep, _: ReadDep) -> RunRead:
    return await service.get_run(session, run_id)


@router.get(
    "/v1/runs/{run_id}/lines",
    operation_id="runs-list_lines",
    response_model=BenefitLinePage,
    responses=error_responses(RunNotFound),
)
async def list_lines(
    run_id: str,
    session: SessionDep,
    _: ReadDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    epic: Annotated[str | None, Query(description="Epic key or id.")] = None,
    kpi: str | None = None,
    stream: str | None = None,
    period: str | None = None,
) -> BenefitLinePage:
    """Lines in the run's order (period, KPI, epic)."""
    return await service.list_lines(
        session, run_id, limit, cursor, epic=epic, kpi=kpi, stream=stream, period=period
    )


@router.post(
    "/v1/runs/{run_id}/verify",
    operation_id="runs-verify_run",
    response_model=VerifyRead,
    responses=error_responses(RunNotFound, RunInputsInvalid),
)
async def verify_run(run_id: str, session: SessionDep, _: ReadDep) -> VerifyRead:
    """Recompute from the stored snapshot and rules; compare hashes and every line."""
    return await service.verify_run(session, run_id)
