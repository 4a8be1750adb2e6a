"""Apply one parsed delivery to the ledger, inside the caller's transaction.

Every change goes through the epics (and contributions) services with actor `jira` / `ado`;
this module only decides *what* to ask for: duplicate, stale, ignored, create, update,
archive or restore, and which fields the source owns.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.timeutil import as_utc, iso_utc
from outcomes.epics.errors import DuplicateEpicKey
from outcomes.epics.schemas import EpicCreate
from outcomes.epics.service import (
    NewEpic,
    archive_epic,
    create_epics,
    restore_epic,
    update_epic,
    validation_failed,
)
from outcomes.models import Epic
from outcomes.webhooks import links, store
from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.errors import EpicKeyConflict
from outcomes.webhooks.events import ItemState, SourceEvent
from outcomes.webhooks.mapping import LabelMapping, map_labels, map_status, warning

SOURCE_LABEL = {"jira": "Jira", "ado": "Azure DevOps"}


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | ignored | stale | duplicate | failed
    reason: str | None
    epic_id: str | None


class Lookups:
    """The reads `apply_event` makes before deciding, one query each (a lone delivery).

    The batcher (`outcomes.webhooks.batcher`) passes a subclass that serves them from a
    few set-based queries made once per batch; the decisions stay here, in one place."""

    async def lock_item(self, session: AsyncSession, event: SourceEvent) -> None:
        assert event.item_id is not None
        await store.lock_item(session, event.source, event.item_id)

    async def find_done(self, session: AsyncSession, event: SourceEvent, pk: int) -> str | None:
        return await store.find_done(session, event.source, event.dedupe_key, other_than=pk)

    async def epic_by_source(self, session: AsyncSession, event: SourceEvent) -> Epic | None:
        assert event.item_id is not None
        return await store.epic_by_source(session, event.source, event.item_id)

    async def existing_kpis(self, session: AsyncSession, slugs: list[str]) -> set[str]:
        return await store.existing_kpis(session, slugs)


SINGLE = Lookups()


def _is_epic_type(state: ItemState | None, config: WebhookConfig) -> bool:
    return state is not None and (state.item_type or "").casefold() in config.epic_types


def _type_note(event: SourceEvent, config: WebhookConfig) -> str:
    kind = event.state.item_type if event.state else None
    return (
        f"{SOURCE_LABEL[event.source]} type {kind!r} is not an epic type "
        f"(WEBHOOK_EPIC_TYPES: {', '.join(sorted(config.epic_types))})"
    )


def is_stale(epic: Epic, event: SourceEvent) -> bool:
    """Older than the newest source update already applied to the epic. ADO orders by rev,
    then by notification time (a delete and a restore share a rev); Jira by `updated`
    (else the event timestamp). Equal is not stale: it is the same state again."""
    last_at = as_utc(epic.source_updated_at) if epic.source_updated_at else None
    if (
        event.order_rev is not None
        and epic.source_rev is not None
        and event.order_rev != epic.source_rev
    ):
        return event.order_rev < epic.source_rev
    return last_at is not None and event.order_at < last_at


def _stale_note(epic: Epic) -> str:
    at = iso_utc(epic.source_updated_at) if epic.source_updated_at else "?"
    rev = f"rev {epic.source_rev}, " if epic.source_rev is not None else ""
    return f"older than the last update applied to {epic.key} ({rev}{at}); not applied"


def _source_fields(event: SourceEvent, warnings: list[Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"source_updated_at": event.order_at}
    if event.order_rev is not None:
        out["source_rev"] = event.order_rev
    if warnings is not None:
        out["warnings"] = warnings
    return out


def _merge_warnings(epic: Epic | None, source: str, mine: list[dict[str, Any]]) -> list[Any]:
    """Replace this source's warnings, keep anybody else's."""
    kept = [
        w
        for w in (epic.warnings if epic is not None else None) or []
        if not (isinstance(w, dict) and w.get("source") == source)
    ]
    return kept + [{**w, "source": source} for w in mine]


def _clip(value: str | None, size: int) -> str | None:
    return value[:size].strip() or None if value else None


def _map(source: str, labels: tuple[str, ...], config: WebhookConfig) -> LabelMapping:
    if source == "jira":
        return map_labels(labels, config.jira_stream_prefix, config.jira_kpi_prefix)
    return map_labels(labels, config.ado_stream_prefix, config.ado_kpi_prefix)


def kpi_slugs(event: SourceEvent, config: WebhookConfig) -> list[str]:
    """The KPI slugs the event's labels name (what `_desired` will look up)."""
    return _map(event.source, event.state.labels, config).kpis if event.state else []


async def _desired(
    session: AsyncSession,
    event: SourceEvent,
    state: ItemState,
    config: WebhookConfig,
    lookups: Lookups,
) -> tuple[dict[str, Any], list[str], list[dict[str, Any]]]:
    """The epic fields the source owns, the (existing) KPIs to link and the warnings."""
    labels = _map(event.source, state.labels, config)
    warnings = list(labels.warnings)
    known = await lookups.existing_kpis(session, labels.kpis) if labels.kpis else set()
    for slug in labels.kpis:
        if slug not in known:
            warnings.append(
                warning("unknown-kpi", f"no KPI has the slug {slug!r}; not linked", kpi=slug)
            )
    fields: dict[str, Any] = {
        "key": event.key,
        "title": _clip(state.title, 500) or event.key,
        "streams": labels.streams,
        "labels": list(state.labels),
        "owner": _clip(state.owner, 200),
        "team": _clip(state.team, 200),
        "start_date": state.start_date,
        "target_date": state.target_date,
    }
    if state.start_date and state.target_date and state.target_date < state.start_date:
        fields["start_date"] = fields["target_date"] = None
        warnings.append(
            warning("dates-out-of-order", "target date is before start date; dates not synced")
        )
    status = map_status(event.source, state, config)
    if status is not None:
        fields["status"] = status
    elif state.status_name:
        warnings.append(
            warning(
                "unmapped-status",
                f"status {state.status_name!r} maps to no epic status; status left as is",
                status_name=state.status_name,
            )
        )
    return fields, [s for s in labels.kpis if s in known], warnings


async def apply_event(
    session: AsyncSession,
    pk: int,
    event: SourceEvent,
    config: WebhookConfig,
    lookups: Lookups = SINGLE,
) -> Outcome:
    step = await apply_or_plan(session, pk, event, config, lookups)
    if isinstance(step, Creation):
        (outcome,) = await create_all(session, [step])
        return outcome
    return step


@dataclass(frozen=True)
class Creation:
    """An event that creates its item's epic: decided, validated and its warnings worked
    out, but not written yet. `apply_event` writes it at once; the batcher writes a run of
    consecutive ones together (`create_all`)."""

    epic: NewEpic
    links: links.LinkPlan


async def apply_or_plan(
    session: AsyncSession,
    pk: int,
    event: SourceEvent,
    config: WebhookConfig,
    lookups: Lookups = SINGLE,
) -> Outcome | Creation:
    """`apply_event` short of creating an epic: any other outcome is applied and returned;
    a create comes back as a `Creation` for the caller to write.

    For an item that has no epic this reads only the dedupe hits, the item's epic and the
    KPI slugs, and writes nothing: the batcher relies on that to decide a run of such
    events before writing their epics together."""
    if event.action == "ignore" or event.item_id is None:
        return Outcome("ignored", event.note, None)
    await lookups.lock_item(session, event)
    original = await lookups.find_done(session, event, pk)
    if original is not None:
        return Outcome("duplicate", f"already received as delivery {original}", None)
    epic = await lookups.epic_by_source(session, event)
    if epic is not None and is_stale(epic, event):
        return Outcome("stale", _stale_note(epic), epic.id)
    if event.action == "delete":
        return await _delete(session, epic, event)
    if not _is_epic_type(event.state, config):
        note = _type_note(event, config)
        if epic is not None:
            note += f"; epic {epic.key} left unchanged"
        return Outcome("ignored", note, epic.id if epic else None)
    assert event.state is not None
    if epic is not None and epic.status == "archived":
        if event.action != "restore":
            return Outcome(
                "ignored",
                f"epic {epic.key} is archived; restore it (or the item) to resume syncing",
                epic.id,
            )
        epic = await restore_epic(session, epic, event.source)
    fields, kpis, warnings = await _desired(session, event, event.state, config, lookups)
    before = _map(event.source, tuple(epic.labels or ()), config).kpis if epic else []
    plan = await links.plan_links(session, epic, kpis, before)
    warnings += plan.warnings
    if epic is None:
        return Creation(_new_epic(event, fields, warnings), plan)
    await _update(session, epic, event, fields, warnings)
    await links.apply_links(session, epic, plan, actor=event.source)
    note = "epic restored and updated" if event.action == "restore" else "epic updated"
    return Outcome("processed", note, epic.id)


def _new_epic(
    event: SourceEvent, fields: dict[str, Any], warnings: list[dict[str, Any]]
) -> NewEpic:
    try:
        data = EpicCreate.model_validate(
            {**fields, "source": event.source, "source_id": event.item_id}
        )
    except ValidationError as exc:
        raise validation_failed(exc, ("epic",)) from exc
    source_fields = _source_fields(event, _merge_warnings(None, event.source, warnings))
    return NewEpic(data, event.source, source_fields)


async def create_all(
    session: AsyncSession,
    creations: Sequence[Creation],
    *,
    keys_in_use: Collection[str] | None = None,
) -> list[Outcome]:
    """Write decided creations, in order, with the epics service's bulk create; each
    epic's KPI links are made right after its own `created` entry, as one by one.
    `keys_in_use`: see `create_epics`."""

    async def link(i: int, epic: Epic) -> None:
        creation = creations[i]
        await links.apply_links(session, epic, creation.links, actor=creation.epic.actor)

    try:
        epics = await create_epics(
            session, [c.epic for c in creations], each=link, keys_in_use=keys_in_use
        )
    except DuplicateEpicKey as exc:
        raise await _key_conflict(session, exc) from exc
    return [Outcome("processed", "epic created", epic.id) for epic in epics]


async def _key_conflict(session: AsyncSession, exc: DuplicateEpicKey) -> EpicKeyConflict:
    """Say who holds the key (checked by `create_epics`: no extra query on the happy path)."""
    key = exc.extra.get("key")
    if key is None:  # several keys, one of them taken by a concurrent writer at INSERT
        return EpicKeyConflict(f"{exc.detail} Replay this delivery.")
    try:
        taken = await store.epic_by_key(session, key)
    except Exception:  # the transaction may be aborted (a race at INSERT)
        taken = None
    holder = (
        f"epic {taken.id} (source {taken.source}"
        f"{', id ' + taken.source_id if taken.source_id else ''})"
        if taken
        else "another epic"
    )
    return EpicKeyConflict(
        f"the key {key} is already used by {holder}; change that epic's key, then "
        "replay this delivery"
    )


async def _update(
    session: AsyncSession,
    epic: Epic,
    event: SourceEvent,
    fields: dict[str, Any],
    warnings: list[dict[str, Any]],
) -> None:
    # The source owns these fields; a merge patch with null removes (e.g. unassigned).
    await update_epic(
        session,
        epic,
        fields,
        event.source,
        source_fields=_source_fields(event, _merge_warnings(epic, event.source, warnings)),
    )


async def _delete(session: AsyncSession, epic: Epic | None, event: SourceEvent) -> Outcome:
    if epic is None:
        return Outcome("ignored", "no epic is linked to this item; nothing to archive", None)
    already = epic.status == "archived"
    # Bookkeeping first (no visible change, no version bump), then the archive itself.
    epic = await update_epic(
        session, epic, {}, event.source, source_fields=_source_fields(event, None)
    )
    if already:
        return Outcome("processed", f"epic {epic.key} was already archived", epic.id)
    epic = await archive_epic(session, epic, event.source)
    return Outcome("processed", "epic archived", epic.id)
