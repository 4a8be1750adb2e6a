"""The portfolio decision log: append-only (no update or delete exists).

A decision can move its epic: `pause` → `paused`, `cut` → `cut`; `continue`, `scale` and
`course_correct` → `active` when the epic was `proposed` or `paused` (a `done` or `cut` epic
is not silently revived). Each decision is a `decision` `recorded` change; a status it
causes is also an `epic` `updated` change (with a version bump), in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.pagination import encode_cursor
from ledgerkit.timeutil import as_utc, utcnow
from outcomes.changes.service import record_change
from outcomes.decisions import store
from outcomes.decisions.errors import DecisionNotFound
from outcomes.decisions.schemas import (
    RESUMABLE,
    RESUMES,
    STATUS_AFTER,
    DecisionCreate,
    DecisionRead,
)
from outcomes.epics.errors import EpicArchived
from outcomes.epics.service import cursor_position, update_epic
from outcomes.models import Decision, Epic


def decision_read(d: Decision, epic_id: str, epic_key: str) -> DecisionRead:
    return DecisionRead(
        id=d.id,
        epic_id=epic_id,
        epic=epic_key,
        decided_on=d.decided_on,
        decision=d.decision,
        grade=d.grade,
        rationale=d.rationale,
        decided_by=d.decided_by,
        created_at=as_utc(d.created_at),
    )


def status_after(decision: str, current: str) -> str:
    if decision in STATUS_AFTER:
        return STATUS_AFTER[decision]
    if decision in RESUMES and current in RESUMABLE:
        return "active"
    return current


async def record_decision(
    session: AsyncSession, epic: Epic, data: DecisionCreate, actor: str
) -> DecisionRead:
    """Append a decision and apply its effect on the epic's status."""
    if epic.status == "archived":
        raise EpicArchived(
            f"Epic {epic.key!r} is archived; restore it before recording decisions.",
            epic=epic.key,
        )
    decision = Decision(
        epic_pk=epic.pk,
        decided_on=data.decided_on,
        decision=data.decision,
        grade=data.grade,
        rationale=data.rationale,
        decided_by=data.decided_by or actor,
        created_at=utcnow(),
    )
    session.add(decision)
    await session.flush()
    read = decision_read(decision, epic.id, epic.key)
    record_change(
        session,
        actor=actor,
        entity="decision",
        entity_id=decision.id,
        action="recorded",
        data=read.model_dump(mode="json"),
    )
    new_status = status_after(data.decision, epic.status)
    if new_status != epic.status:
        await update_epic(session, epic, {"status": new_status}, actor)
    return read


async def get_decision(session: AsyncSession, decision_id: str) -> DecisionRead:
    row = await store.get(session, decision_id)
    if row is None:
        raise DecisionNotFound(f"No decision has the id {decision_id!r}.")
    return decision_read(*row)


async def list_decisions(
    session: AsyncSession, *, epic: Epic | None, limit: int, cursor: str | None
) -> tuple[list[DecisionRead], str | None]:
    rows = list(
        await store.list_page(
            session,
            epic_pk=epic.pk if epic else None,
            after_pk=cursor_position(cursor),
            limit=limit + 1,
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return [decision_read(*r) for r in rows], encode_cursor(
        rows[-1][0].pk
    ) if more and rows else None
