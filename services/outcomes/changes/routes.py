"""`GET /v1/changes` (the change feed) and `GET /v1/audit/verify`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from orjson import Fragment

from ledgerkit.auth import ReadDep
from ledgerkit.deps import SessionDep
from ledgerkit.fastjson import json_response
from outcomes.changes import store
from outcomes.changes.schemas import AuditVerifyRead, ChangePage
from outcomes.changes.service import verify_chain

router = APIRouter(tags=["changes"])


@router.get("/v1/changes", operation_id="changes-list_changes", response_model=ChangePage)
async def list_changes(
    session: SessionDep,
    _: ReadDep,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Return entries with seq > after.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Response:
    # The page straight to JSON bytes (same document as ChangePage): each entry's `data` is
    # spliced in as the JSON text stored, never parsed and written again.
    rows = await store.page_after(session, after, limit)
    items = [
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "data": Fragment(data),
            "hash": hash_,
            "prev_hash": prev_hash,
        }
        for seq, at, actor, entity, entity_id, action, data, hash_, prev_hash in rows
    ]
    head = await store.head_seq(session)
    page = {"items": items, "next_after": rows[-1][0] if rows else after, "head": head}
    return json_response(page)


@router.get("/v1/audit/verify", operation_id="changes-verify_audit", response_model=AuditVerifyRead)
async def verify_audit(session: SessionDep, _: ReadDep) -> AuditVerifyRead:
    r = await verify_chain(session)
    return AuditVerifyRead(
        ok=r.ok,
        length=r.length,
        head=r.head,
        first_broken_seq=r.first_broken_seq,
        reason=r.reason,
    )
