"""Value-council scores: append-only; several scores of one epic and period may exist (a
re-score after new evidence), and the latest (newest `created_at`) is the one that counts.
Every score is a `score` `created` change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.pagination import encode_cursor
from ledgerkit.timeutil import as_utc, utcnow
from outcomes.changes.service import record_change
from outcomes.epics.errors import EpicArchived
from outcomes.epics.service import cursor_position
from outcomes.models import Epic, Score
from outcomes.scores import store
from outcomes.scores.errors import ScoreNotFound
from outcomes.scores.schemas import ScoreCreate, ScoreRead


def score_read(score: Score, epic_id: str, epic_key: str) -> ScoreRead:
    return ScoreRead(
        id=score.id,
        epic_id=epic_id,
        epic=epic_key,
        period=score.period,
        outcome_potential=score.outcome_potential,
        time_to_value=score.time_to_value,
        risk=score.risk,
        total=score.total,
        scored_by=score.scored_by,
        note=score.note,
        created_at=as_utc(score.created_at),
    )


async def create_score(
    session: AsyncSession, epic: Epic, data: ScoreCreate, actor: str
) -> ScoreRead:
    """Score an epic (not an archived one: 409)."""
    if epic.status == "archived":
        raise EpicArchived(
            f"Epic {epic.key!r} is archived; restore it before scoring it.", epic=epic.key
        )
    score = Score(
        epic_pk=epic.pk,
        period=data.period,
        outcome_potential=data.outcome_potential,
        time_to_value=data.time_to_value,
        risk=data.risk,
        total=data.outcome_potential + data.time_to_value + data.risk,
        scored_by=data.scored_by or actor,
        note=data.note,
        created_at=utcnow(),
    )
    session.add(score)
    await session.flush()
    read = score_read(score, epic.id, epic.key)
    record_change(
        session,
        actor=actor,
        entity="score",
        entity_id=score.id,
        action="created",
        data=read.model_dump(mode="json"),
    )
    return read


async def get_score(session: AsyncSession, score_id: str) -> ScoreRead:
    row = await store.get(session, score_id)
    if row is None:
        raise ScoreNotFound(f"No score has the id {score_id!r}.")
    return score_read(*row)


async def list_scores(
    session: AsyncSession,
    *,
    period: str | None,
    epic: Epic | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ScoreRead], str | None]:
    rows = list(
        await store.list_page(
            session,
            period=period,
            epic_pk=epic.pk if epic else None,
            after_pk=cursor_position(cursor),
            limit=limit + 1,
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [score_read(*r) for r in rows]
    return items, encode_cursor(rows[-1][0].pk) if more and rows else None
