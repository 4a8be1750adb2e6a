"""Rule sets and versions: `/v1/rulesets…`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Response, status

from attribution.idempotency import IdempotentRoute
from attribution.rulesets import service
from attribution.rulesets.errors import (
    AgreementRefused,
    ContentChanged,
    DuplicateRuleSetName,
    InvalidRules,
    InvalidTransition,
    RuleSetNotFound,
    VersionImmutable,
    VersionNotFound,
)
from attribution.rulesets.schemas import (
    RuleSetCreate,
    RuleSetPage,
    RuleSetRead,
    VersionAgree,
    VersionCreate,
    VersionRead,
    VersionReject,
    VersionUpdate,
)
from ledgerkit.auth import FinanceDep, ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import PreconditionFailed, error_responses
from ledgerkit.pagination import CursorParam, LimitParam

router = APIRouter(tags=["rulesets"], route_class=IdempotentRoute)

# A version number is a 32-bit integer column: larger ones are 422, not a database overflow.
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _etag(response: Response, v: VersionRead) -> VersionRead:
    response.headers["ETag"] = f'"{v.revision}"'
    return v


@router.post(
    "/v1/rulesets",
    operation_id="rulesets-create_ruleset",
    status_code=status.HTTP_201_CREATED,
    response_model=RuleSetRead,
    responses=error_responses(DuplicateRuleSetName),
)
async def create_ruleset(
    body: RuleSetCreate, session: SessionDep, principal: WriteDep, response: Response
) -> RuleSetRead:
    rs = await service.create_ruleset(session, body, principal.name)
    response.headers["Location"] = f"/v1/rulesets/{rs.id}"
    return rs


@router.get("/v1/rulesets", operation_id="rulesets-list_rulesets", response_model=RuleSetPage)
async def list_rulesets(
    session: SessionDep, _: ReadDep, limit: LimitParam = 50, cursor: CursorParam = None
) -> RuleSetPage:
    return await service.list_rulesets(session, limit, cursor)


@router.get(
    "/v1/rulesets/{ruleset}",
    operation_id="rulesets-get_ruleset",
    response_model=RuleSetRead,
    responses=error_responses(RuleSetNotFound),
)
async def get_ruleset(ruleset: str, session: SessionDep, _: ReadDep) -> RuleSetRead:
    """`ruleset` is the rule set's id or its name."""
    return await service.get_ruleset(session, ruleset)


@router.post(
    "/v1/rulesets/{ruleset}/versions",
    operation_id="rulesets-create_version",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionRead,
    responses=error_responses(RuleSetNotFound, InvalidRules),
)
async def create_version(
    ruleset: str, body: VersionCreate, session: SessionDep, principal: WriteDep, response: Response
) -> VersionRead:
    v = await service.create_version(session, ruleset, body, principal.name)
    response.headers["Location"] = f"/v1/rulesets/{v.ruleset}/versions/{v.version}"
    return _etag(response, v)


@router.get(
    "/v1/rulesets/{ruleset}/versions/{version}",
    operation_id="rulesets-get_version",
    response_model=VersionRead,
    responses=error_responses(RuleSetNotFound, VersionNotFound),
)
async def get_version(
    ruleset: str, version: VersionPath, session: SessionDep, _: ReadDep, response: Response
) -> VersionRead:
    rs = await service.find_ruleset(session, ruleset)
    return _etag(
        response, service.version_read(await service.find_version(session, rs.id, version))
    )


@router.patch(
    "/v1/rulesets/{ruleset}/versions/{version}",
    operation_id="rulesets-update_version",
    response_model=VersionRead,
    responses=error_responses(
        RuleSetNotFound, VersionNotFound, VersionImmutable, InvalidRules, PreconditionFailed
    ),
)
async def update_version(
    ruleset: str,
    version: VersionPath,
    body: VersionUpdate,
    session: SessionDep,
    principal: WriteDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> VersionRead:
    """Edit a draft or proposed version (JSON merge patch); agreed versions → 409."""
    v = await service.update_version(session, ruleset, version, body, principal.name, if_match)
    return _etag(response, v)


@router.post(
    "/v1/rulesets/{ruleset}/versions/{version}/propose",
    operation_id="rulesets-propose_version",
    response_model=VersionRead,
    responses=error_responses(RuleSetNotFound, VersionNotFound, InvalidTransition),
)
async def propose_version(
    ruleset: str, version: VersionPath, session: SessionDep, principal: WriteDep, response: Response
) -> VersionRead:
    v = await service.propose_version(session, ruleset, version, principal.name)
    return _etag(response, v)


@router.post(
    "/v1/rulesets/{ruleset}/versions/{version}/agree",
    operation_id="rulesets-agree_version",
    response_model=VersionRead,
    responses=error_responses(
        RuleSetNotFound, VersionNotFound, InvalidTransition, AgreementRefused, ContentChanged
    ),
)
async def agree_version(
    ruleset: str,
    version: VersionPath,
    session: SessionDep,
    principal: FinanceDep,
    response: Response,
    body: Annotated[VersionAgree | None, Body()] = None,
) -> VersionRead:
    """Agree a proposed version (`finance`): records agreed_by/at and the content hash,
    freezes it and supersedes older agreed versions from its effective_from on."""
    v = await service.agree_version(
        session,
        ruleset,
        version,
        principal.name,
        expected_hash=body.content_hash if body else None,
    )
    return _etag(response, v)


@router.post(
    "/v1/rulesets/{ruleset}/versions/{version}/reject",
    operation_id="rulesets-reject_version",
    response_model=VersionRead,
    responses=error_responses(RuleSetNotFound, VersionNotFound, InvalidTransition),
)
async def reject_version(
    ruleset: str,
    version: VersionPath,
    session: SessionDep,
    principal: FinanceDep,
    response: Response,
    body: Annotated[VersionReject | None, Body()] = None,
) -> VersionRead:
    v = await service.reject_version(
        session, ruleset, version, principal.name, body.reason if body else None
    )
    return _etag(response, v)
