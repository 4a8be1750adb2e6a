"""`GET /v1/benefits`: realized benefit, run-rate and payback per epic."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from attribution.benefits import service
from attribution.benefits.schemas import BenefitPage
from attribution.rulesets.errors import RuleSetNotFound
from attribution.runs.errors import RunNotFound
from ledgerkit.auth import ReadDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import error_responses
from ledgerkit.pagination import CursorParam, LimitParam

router = APIRouter(tags=["benefits"])


@router.get(
    "/v1/benefits",
    operation_id="benefits-list_benefits",
    response_model=BenefitPage,
    responses=error_responses(RuleSetNotFound, RunNotFound),
)
async def list_benefits(
    session: SessionDep,
    _: ReadDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    stream: Annotated[str | None, Query(description="Epics tagged with this stream.")] = None,
    team: str | None = None,
    epic: Annotated[str | None, Query(description="Epic key or id.")] = None,
    ruleset: Annotated[str | None, Query(description="Rule set id or name.")] = None,
    run: Annotated[str | None, Query(description="A specific run instead of the latest.")] = None,
) -> BenefitPage:
    """Per epic: realized to date, run-rate and payback, from the latest official run of
    each rule set (ordered by rule set, then epic key)."""
    return await service.list_benefits(
        session, limit, cursor, stream=stream, team=team, epic=epic, ruleset=ruleset, run=run
    )
