"""Fast reads of epics: Core rows straight to the JSON the API returns.

`epic_doc` builds the document `EpicRead` dumps (same keys, same order) from a plain row,
without a pydantic model per epic; dates and timestamps stay objects, which orjson writes
exactly as pydantic does (`ledgerkit.fastjson.dumps`). The read routes serialize it straight
to bytes, so an epic costs a few microseconds instead of a model validated twice (once by
`epic_read`, once more as the response model). `tests/outcomes/epics/test_reads.py` checks
byte equality against the pydantic path.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from fastapi import Response
from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit import fastjson
from ledgerkit.etag import etag
from ledgerkit.fastjson import iso
from ledgerkit.money import quantize_money
from ledgerkit.pagination import encode_cursor
from outcomes.epics.schemas import EpicFilters, Hypothesis, ProofPlan
from outcomes.epics.store import filtered
from outcomes.models import Epic

# The columns an API epic is built from, in `EpicRead` order (planned cost as two columns).
COLUMNS = (
    Epic.id,
    Epic.key,
    Epic.title,
    Epic.streams,
    Epic.status,
    Epic.source,
    Epic.source_id,
    Epic.owner,
    Epic.team,
    Epic.planned_cost_amount,
    Epic.planned_cost_currency,
    Epic.start_date,
    Epic.target_date,
    Epic.hypothesis,
    Epic.change_type,
    Epic.sponsor,
    Epic.labels,
    Epic.warnings,
    Epic.version,
    Epic.created_at,
    Epic.updated_at,
    Epic.archived_at,
)
ATTRS = tuple(c.key for c in COLUMNS)

_HYPOTHESIS_KEYS = tuple(Hypothesis.model_fields)
_PROOF_PLAN_KEYS = tuple(ProofPlan.model_fields)


def _hypothesis(value: Any) -> Any:
    """The stored hypothesis as `Hypothesis` dumps it. Written by the API it already is
    (every key, in order): copy it; anything else goes through the model."""
    if not value:
        return None
    if isinstance(value, dict) and tuple(value) == _HYPOTHESIS_KEYS:
        plan = value["proof_plan"]
        if plan is None:
            return dict(value)
        if isinstance(plan, dict) and tuple(plan) == _PROOF_PLAN_KEYS and type(plan["days"]) is int:
            return {**value, "proof_plan": dict(plan)}
    return Hypothesis.model_validate(value).model_dump(mode="json")


def epic_doc(row: Sequence[Any]) -> dict[str, Any]:
    """One epic (a row of `COLUMNS`) as the API writes it, dates and times as objects."""
    (
        id_,
        key,
        title,
        streams,
        status,
        source,
        source_id,
        owner,
        team,
        amount,
        currency,
        start_date,
        target_date,
        hypothesis,
        change_type,
        sponsor,
        labels,
        warnings,
        version,
        created_at,
        updated_at,
        archived_at,
    ) = row
    return {
        "id": id_,
        "key": key,
        "title": title,
        "streams": list(streams or ()),
        "status": status,
        "source": source,
        "source_id": source_id,
        "owner": owner,
        "team": team,
        "planned_cost": (
            {"amount": format(quantize_money(Decimal(amount)), "f"), "currency": currency}
            if amount is not None and currency
            else None
        ),
        "start_date": start_date,
        "target_date": target_date,
        "hypothesis": _hypothesis(hypothesis),
        "change_type": change_type,
        "sponsor": sponsor,
        "labels": list(labels or ()),
        "warnings": list(warnings or ()),
        "version": version,
        "created_at": created_at,
        "updated_at": updated_at,
        "archived_at": archived_at or None,
    }


def epic_json_of(epic: Epic) -> dict[str, Any]:
    """An ORM epic as the API's JSON value, strings for dates and times (the `data` of its
    change-log entries): `epic_read(epic).model_dump(mode="json")`."""
    doc = epic_doc([getattr(epic, name) for name in ATTRS])
    for name in ("start_date", "target_date"):
        if doc[name] is not None:
            doc[name] = doc[name].isoformat()
    for name in ("created_at", "updated_at", "archived_at"):
        if doc[name] is not None:
            doc[name] = iso(doc[name])
    return doc


def json_response(content: Any, *, status_code: int = 200, version: int | None = None) -> Response:
    """Pre-serialized JSON (FastAPI does not validate a returned `Response` again), with the
    epic's ETag when `version` is given."""
    headers = {"ETag": etag(version)} if version is not None else None
    return fastjson.json_response(content, status_code=status_code, headers=headers)


async def list_page(
    session: AsyncSession, f: EpicFilters, *, after_pk: int | None, limit: int
) -> dict[str, Any]:
    """One page of epics after `after_pk` in pk (creation) order, as the API's JSON value
    (`items`, `next_cursor`): what `EpicPage` dumps (see `epic_doc`)."""
    stmt = filtered(select(Epic.pk, *COLUMNS), f)
    if after_pk is not None:
        stmt = stmt.where(Epic.pk > after_pk)
    rows = (await session.execute(stmt.order_by(Epic.pk).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [epic_doc(row[1:]) for row in rows],
        "next_cursor": encode_cursor(rows[-1][0]) if more and rows else None,
    }


# Built once: building the statement cost about as much CPU as running it.
_BY_REF = (
    select(*COLUMNS)
    .where(or_(Epic.id == bindparam("ref"), Epic.key == bindparam("ref")))
    .order_by((Epic.id == bindparam("ref")).desc())
    .limit(1)
)


async def get_by_ref(session: AsyncSession, ref: str) -> dict[str, Any] | None:
    """An epic by its id or its key (id wins), as the API writes it (see `epic_doc`)."""
    row = (await session.execute(_BY_REF, {"ref": ref})).first()
    return epic_doc(row) if row is not None else None
