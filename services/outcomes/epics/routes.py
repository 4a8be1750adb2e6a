"""`/v1/epics`: create, list, read, merge-patch, archive."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response

from ledgerkit.auth import ReadDep, WriteDep
from ledgerkit.deps import SessionDep
from ledgerkit.errors import PreconditionFailed, ValidationFailed, error_responses
from ledgerkit.etag import IfMatchHeader, etag, expected_version
from ledgerkit.pagination import CursorParam, LimitParam
from outcomes.epics import reads, service
from outcomes.epics.errors import DuplicateEpicKey, EpicNotFound, UnsupportedMediaType
from outcomes.epics.params import EpicFiltersDep
from outcomes.epics.schemas import (
    EpicCreate,
    EpicPage,
    EpicRead,
    EpicUpdate,
)
from outcomes.idempotency import IdempotentRoute

router = APIRouter(tags=["epics"], route_class=IdempotentRoute)

_PATCH_TYPES = ("application/merge-patch+json", "application/json")


def _located(response: Response, epic: EpicRead) -> None:
    response.headers["ETag"] = etag(epic.version)


def require_patch_type(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _PATCH_TYPES:
        raise UnsupportedMediaType(
            f"Send the patch as {' or '.join(_PATCH_TYPES)} (got {ctype or 'none'}).",
            accepted=list(_PATCH_TYPES),
        )


@router.post(
    "/v1/epics",
    operation_id="epics-create_epic",
    status_code=201,
    response_model=EpicRead,
    responses=error_responses(DuplicateEpicKey, ValidationFailed),
)
async def create_epic(body: EpicCreate, session: SessionDep, principal: WriteDep) -> Response:
    epic = await service.create_epic(session, body, principal.name)
    response = reads.json_response(reads.epic_json_of(epic), status_code=201, version=epic.version)
    response.headers["Location"] = f"/v1/epics/{epic.id}"
    return response


@router.get(
    "/v1/epics",
    operation_id="epics-list_epics",
    response_model=EpicPage,
    responses=error_responses(ValidationFailed),
)
async def list_epics(
    session: SessionDep,
    _: ReadDep,
    filters: EpicFiltersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Response:
    # Core rows straight to JSON bytes (same document as EpicPage; see epics/reads.py).
    page = await reads.list_page(
        session, filters, after_pk=service.cursor_position(cursor), limit=limit
    )
    return reads.json_response(page)


@router.get(
    "/v1/epics/{ref}",
    operation_id="epics-get_epic",
    response_model=EpicRead,
    responses=error_responses(EpicNotFound),
)
async def get_epic(ref: str, session: SessionDep, _: ReadDep) -> Response:
    data = await reads.get_by_ref(session, ref)
    if data is None:
        raise service.not_found(ref)
    return reads.json_response(data, version=data["version"])


@router.patch(
    "/v1/epics/{ref}",
    operation_id="epics-update_epic",
    response_model=EpicRead,
    responses=error_responses(
        EpicNotFound, DuplicateEpicKey, PreconditionFailed, UnsupportedMediaType, ValidationFailed
    ),
    dependencies=[Depends(require_patch_type)],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/merge-patch+json": {
                    "schema": {"$ref": "#/components/schemas/EpicUpdate"}
                }
            }
        }
    },
)
async def update_epic(
    ref: str,
    patch: Annotated[EpicUpdate, Body()],
    session: SessionDep,
    principal: WriteDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> EpicRead:
    epic = await service.get_epic(session, ref)
    epic = await service.update_epic(
        session,
        epic,
        patch.model_dump(exclude_unset=True),
        principal.name,
        expected_version=expected_version(if_match, epic.version),
    )
    read = service.epic_read(epic)
    _located(response, read)
    return read


@router.delete(
    "/v1/epics/{ref}",
    operation_id="epics-archive_epic",
    status_code=204,
    response_class=Response,
    responses=error_responses(EpicNotFound, PreconditionFailed),
)
async def archive_epic(
    ref: str, session: SessionDep, principal: WriteDep, if_match: IfMatchHeader = None
) -> Response:
    epic = await service.get_epic(session, ref)
    epic = await service.archive_epic(
        session, epic, principal.name, expected_version=expected_version(if_match, epic.version)
    )
    return Response(status_code=204, headers={"ETag": etag(epic.version)})
