"""`GET /v1/changes` (the change feed) and `GET /v1/audit/verify`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ledgerkit.auth import ReadDep
from ledgerkit.deps import SessionDep
from ledgerkit.timeutil import as_utc
from outcomes.changes import store
from outcomes.changes.schemas import AuditVerifyRead, ChangePage, ChangeRead
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
) -> ChangePage:
    rows = await store.list_after(session, after, limit)
    items = [
        ChangeRead(
            seq=c.seq,
            at=as_utc(c.at),
            actor=c.actor,
            entity=c.entity,
            entity_id=c.entity_id,
            action=c.action,
            data=c.data,
            hash=c.hash,
            prev_hash=c.prev_hash,
        )
        for c in rows
    ]
    head = await store.head_seq(session)
    return ChangePage(items=items, next_after=items[-1].seq if items else after, head=head)


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
