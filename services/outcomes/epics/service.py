"""The rules for epics: create, merge-patch update, archive/restore, read, list.

Plain async functions over an `AsyncSession`, shared by REST, GraphQL and the Jira/ADO
webhooks, so every path validates the same way and writes the same change-log entries.
They only `flush()`; the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.errors import ValidationFailed
from ledgerkit.etag import check_version
from ledgerkit.money import Money
from ledgerkit.pagination import decode_cursor, encode_cursor
from ledgerkit.timeutil import as_utc, utcnow
from outcomes.changes.service import record_change
from outcomes.epics import store
from outcomes.epics.errors import DuplicateEpicKey, EpicNotFound
from outcomes.epics.reads import epic_json_of
from outcomes.epics.schemas import (
    WRITABLE_FIELDS,
    EpicCreate,
    EpicFilters,
    EpicRead,
    EpicUpdate,
    Hypothesis,
)
from outcomes.models import Epic

# Fields a webhook may set besides the writable ones (not accepted from REST clients).
SOURCE_FIELDS = frozenset({"source_updated_at", "source_rev", "warnings"})


def validation_failed(
    exc: ValidationError, prefix: tuple[str | int, ...] = ("body",)
) -> ValidationFailed:
    """A pydantic error as our 422 problem, with `loc` paths like request validation's."""
    errs = [
        {
            "loc": [*prefix, *(p if isinstance(p, int | str) else str(p) for p in e["loc"])],
            "msg": e["msg"],
            "type": e["type"],
        }
        for e in exc.errors(include_url=False, include_input=False)
    ]
    first = errs[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
    return ValidationFailed(f"{where}: {first['msg']}{more}", errors=errs)


def epic_read(epic: Epic) -> EpicRead:
    """The epic as the API returns it (also the `data` of its change-log entries)."""
    cost = None
    if epic.planned_cost_amount is not None and epic.planned_cost_currency:
        cost = Money.of(epic.planned_cost_amount, epic.planned_cost_currency)
    return EpicRead(
        id=epic.id,
        key=epic.key,
        title=epic.title,
        streams=list(epic.streams or []),
        status=epic.status,
        source=epic.source,
        source_id=epic.source_id,
        owner=epic.owner,
        team=epic.team,
        planned_cost=cost,
        start_date=epic.start_date,
        target_date=epic.target_date,
        hypothesis=Hypothesis.model_validate(epic.hypothesis) if epic.hypothesis else None,
        change_type=epic.change_type,
        sponsor=epic.sponsor,
        labels=list(epic.labels or []),
        warnings=list(epic.warnings or []),
        version=epic.version,
        created_at=as_utc(epic.created_at),
        updated_at=as_utc(epic.updated_at),
        archived_at=as_utc(epic.archived_at) if epic.archived_at else None,
    )


def _record(session: AsyncSession, epic: Epic, actor: str, action: str) -> None:
    record_change(
        session,
        actor=actor,
        entity="epic",
        entity_id=epic.id,
        action=action,
        data=epic_json_of(epic),  # == epic_read(epic).model_dump(mode="json"), cheaper
    )


async def get_epic(session: AsyncSession, ref: str) -> Epic:
    """An epic by id or key (archived ones too); `EpicNotFound` otherwise."""
    epic = await store.get_by_ref(session, ref)
    if epic is None:
        raise not_found(ref)
    return epic


def not_found(ref: str) -> EpicNotFound:
    return EpicNotFound(f"No epic has the id or key {ref!r}.", ref=ref)


def cursor_position(cursor: str | None) -> int | None:
    """The row pk a pk-ordered list cursor stands for (None: first page); else 422."""
    position = decode_cursor(cursor)
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        raise ValidationFailed(
            "The cursor is not one this list issued; start again without `cursor`.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    return position


async def list_epics(
    session: AsyncSession, filters: EpicFilters, limit: int, cursor: str | None
) -> tuple[list[Epic], str | None]:
    """One page of epics in creation order, and the cursor of the next page (None: last)."""
    rows = list(
        await store.list_page(session, filters, after_pk=cursor_position(cursor), limit=limit + 1)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].pk) if more and rows else None


def _apply_fields(epic: Epic, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if name == "planned_cost":
            epic.planned_cost_amount = value["amount"] if value else None
            epic.planned_cost_currency = value["currency"] if value else None
        elif name == "hypothesis":
            epic.hypothesis = (
                Hypothesis.model_validate(value).model_dump(mode="json") if value else None
            )
        else:
            setattr(epic, name, value)


def _apply_source_fields(epic: Epic, source_fields: Mapping[str, Any] | None) -> bool:
    """Set webhook bookkeeping; True when something visible in the API changed."""
    if not source_fields:
        return False
    unknown = set(source_fields) - SOURCE_FIELDS
    if unknown:
        raise ValueError(f"not source fields: {sorted(unknown)}")
    visible = False
    for name, value in source_fields.items():
        if name == "warnings":
            visible = visible or list(epic.warnings or []) != list(value or [])
            epic.warnings = list(value or [])
        else:
            setattr(epic, name, value)
    return visible


async def _flush(session: AsyncSession, key: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent writer took the key first
        raise _duplicate(key) from exc


def _duplicate(key: str) -> DuplicateEpicKey:
    return DuplicateEpicKey(f"An epic with the key {key!r} already exists.", key=key)


@dataclass(frozen=True, slots=True)
class NewEpic:
    """One epic to create: its validated fields, who creates it, and (webhooks only) the
    source bookkeeping (`SOURCE_FIELDS`)."""

    data: EpicCreate
    actor: str
    source_fields: dict[str, Any] | None = None


async def create_epic(
    session: AsyncSession,
    data: EpicCreate,
    actor: str,
    *,
    source_fields: dict[str, Any] | None = None,
) -> Epic:
    """Create an epic (409 `DuplicateEpicKey` when the key is taken, even under a race)."""
    (epic,) = await create_epics(session, [NewEpic(data, actor, source_fields)])
    return epic


async def create_epics(
    session: AsyncSession,
    new: Sequence[NewEpic],
    *,
    each: Callable[[int, Epic], Awaitable[None]] | None = None,
    keys_in_use: Collection[str] | None = None,
) -> list[Epic]:
    """Create epics exactly as if `create_epic` were called for each in turn, in a fixed
    number of statements (a webhook batch creates many at once): one key check for all
    the keys, one INSERT of all the epics (RETURNING their pks), one of all their stream
    rows. Then, in order, each epic's `created` change entry, followed by `each(i, epic)`
    when given (a webhook links the epic's KPIs there), so the change log reads entry for
    entry as it would one by one.

    `DuplicateEpicKey` names the first key that is taken or repeated in `new`; it is
    raised before anything is written (or at the INSERT, under a race). `keys_in_use`:
    which of the keys existing epics use, when the caller read them in this transaction
    and has written nothing since (a webhook batch reads them with its epics); else they
    are read here."""
    if not new:
        return []
    keys = [n.data.key for n in new]
    taken = await store.keys_taken(session, keys) if keys_in_use is None else keys_in_use
    seen: set[str] = set()
    for key in keys:
        if key in taken or key in seen:  # one by one, the repeat would find the first
            raise _duplicate(key)
        seen.add(key)
    now = utcnow()
    epics = [_new_epic(n, now) for n in new]
    session.add_all(epics)  # the unit of work sends them as one multi-row INSERT
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent writer took a key after the check
        if len(keys) == 1:
            raise _duplicate(keys[0]) from exc
        raise DuplicateEpicKey(
            f"An epic with one of the keys {', '.join(map(repr, keys))} was created meanwhile.",
            keys=keys,
        ) from exc
    await store.add_streams(session, [(epic.pk, epic.streams) for epic in epics])
    for i, (n, epic) in enumerate(zip(new, epics, strict=True)):
        _record(session, epic, n.actor, "created")
        if each is not None:
            await each(i, epic)
    return epics


def _new_epic(new: NewEpic, now: datetime) -> Epic:
    """The row for a new epic: the create rules' fields, version 1, no warnings unless the
    source says so."""
    epic = Epic(version=1, created_at=now, updated_at=now, warnings=[])
    _apply_fields(epic, new.data.model_dump(include=set(WRITABLE_FIELDS)))
    if epic.status == "archived":
        epic.archived_at = now
    _apply_source_fields(epic, new.source_fields)
    return epic


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge_patch(out.get(name), value)
    return out


def _writable_state(epic: Epic) -> dict[str, Any]:
    state = epic_read(epic).model_dump(include=set(WRITABLE_FIELDS), exclude_none=True)
    if state.get("hypothesis"):
        state["hypothesis"] = {k: v for k, v in state["hypothesis"].items() if v is not None}
    return state


def _same(a: Any, b: Any) -> bool:
    """Equal state (Decimal compares by value: 5E+5 == 500000.00)."""
    return bool(a == b)


async def update_epic(
    session: AsyncSession,
    epic: Epic,
    patch: dict[str, Any],
    actor: str,
    *,
    expected_version: int | None = None,
    source_fields: dict[str, Any] | None = None,
) -> Epic:
    """Apply a JSON merge patch; the merged epic must pass the create rules.

    `expected_version` (from `If-Match`) is compared under a row lock, so of two writers
    holding the same version exactly one wins and the other gets 412. A patch that changes
    nothing bumps no version and writes no change entry. Moving `status` to `archived` is
    an archive, away from it a restore (each recorded as such).
    """
    epic = await store.lock(session, epic)
    check_version(expected_version, epic.version, "epic")
    try:
        normalized = EpicUpdate.model_validate(patch).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    current = _writable_state(epic)
    try:
        merged = EpicCreate.model_validate(merge_patch(current, normalized))
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    new_state = merged.model_dump(include=set(WRITABLE_FIELDS), exclude_none=True)
    if new_state.get("hypothesis"):
        new_state["hypothesis"] = {
            k: v for k, v in new_state["hypothesis"].items() if v is not None
        }
    changed = {
        name: getattr(merged, name) if name in new_state else None
        for name in WRITABLE_FIELDS
        if not _same(current.get(name), new_state.get(name))
    }
    if "planned_cost" in changed and merged.planned_cost is not None:
        changed["planned_cost"] = merged.planned_cost.model_dump()
    if "hypothesis" in changed and merged.hypothesis is not None:
        changed["hypothesis"] = merged.hypothesis.model_dump()
    visible = _apply_source_fields(epic, source_fields)
    if not changed and not visible:
        return epic
    if "key" in changed and await store.key_exists(session, merged.key, other_than=epic.pk):
        raise _duplicate(merged.key)
    old_status = epic.status
    _apply_fields(epic, changed)
    action = "updated"
    if epic.status == "archived" and old_status != "archived":
        epic.archived_at, action = utcnow(), "archived"
    elif old_status == "archived" and epic.status != "archived":
        epic.archived_at, action = None, "restored"
    epic.version += 1
    epic.updated_at = utcnow()
    await _flush(session, epic.key)  # one UPDATE of the row, a key race as 409
    if "streams" in changed:  # after the flush: its DELETE would autoflush half the update
        await store.set_streams(session, epic.pk, merged.streams)
    _record(session, epic, actor, action)
    return epic


async def archive_epic(
    session: AsyncSession, epic: Epic, actor: str, *, expected_version: int | None = None
) -> Epic:
    """Archive (never hard delete). Archiving an archived epic changes nothing."""
    epic = await store.lock(session, epic)
    check_version(expected_version, epic.version, "epic")
    if epic.status == "archived":
        return epic
    now = utcnow()
    epic.status, epic.archived_at = "archived", now
    epic.version += 1
    epic.updated_at = now
    await session.flush()
    _record(session, epic, actor, "archived")
    return epic


async def restore_epic(session: AsyncSession, epic: Epic, actor: str) -> Epic:
    """Un-archive: back to the last status it had before archiving (else `proposed`)."""
    epic = await store.lock(session, epic)
    if epic.status != "archived":
        return epic
    previous = await store.last_status_before_archive(session, epic.id)
    epic.status = previous or "proposed"
    epic.archived_at = None
    epic.version += 1
    epic.updated_at = utcnow()
    await session.flush()
    _record(session, epic, actor, "restored")
    return epic


async def set_status(session: AsyncSession, epic: Epic, status: str, actor: str) -> Epic:
    """Move an epic to `status` (decisions use this); no-op when already there."""
    return await update_epic(session, epic, {"status": status}, actor)
