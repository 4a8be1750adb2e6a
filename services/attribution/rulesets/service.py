"""Rule sets and the lifecycle of their versions: draft → proposed → agreed → superseded
(or draft/proposed → rejected).

Why so strict: official numbers are only as trustworthy as the agreement behind them.
An agreed version is frozen (its content hash is what finance signed); any change is a new
version, and agreeing one re-checks it against the current outcomes data in the replica.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attribution.engine import (
    Problem,
    RulesError,
    check_inputs,
    content_hash,
    parse_period,
    parse_rules,
)
from attribution.models import RuleSet, RuleSetVersion
from attribution.replica import service as replica
from attribution.rulesets import store
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
    VersionCreate,
    VersionRead,
    VersionSummary,
    VersionUpdate,
)
from ledgerkit.errors import PreconditionFailed, ValidationFailed
from ledgerkit.pagination import decode_cursor, encode_cursor
from ledgerkit.timeutil import as_utc, utcnow

EDITABLE = ("draft", "proposed")
AGREED = ("agreed", "superseded")


def _errors(problems: Sequence[Problem], prefix: Sequence[str | int]) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *p.path], "msg": p.message, "type": p.code} for p in problems]


def validate_rules(
    rules: Mapping[str, Any], prefix: Sequence[str | int] = ("body", "rules")
) -> str:
    """Full validation of a rules document; its content hash, or 422 with JSON paths."""
    try:
        parse_rules(rules)
        return content_hash(rules)
    except RulesError as exc:
        errors = _errors(exc.problems, prefix)
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidRules(f"{where}: {first['msg']}{more}", errors=errors) from exc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _utc(dt: datetime | None) -> datetime | None:
    return as_utc(dt) if dt is not None else None


def version_read(v: RuleSetVersion) -> VersionRead:
    return VersionRead(
        ruleset=v.ruleset_id,
        version=v.number,
        status=v.status,  # type: ignore[arg-type]
        effective_from=v.effective_from,
        rules=v.rules,
        content_hash=v.content_hash,
        revision=v.revision,
        proposed_by=v.proposed_by,
        proposed_at=_utc(v.proposed_at),
        agreed_by=v.agreed_by,
        agreed_at=_utc(v.agreed_at),
        rejected_by=v.rejected_by,
        rejected_at=_utc(v.rejected_at),
        reject_reason=v.reject_reason,
        superseded_by=v.superseded_by,
        superseded_from=v.superseded_from,
        warnings=list(v.warnings or []),
        created_by=v.created_by,
        created_at=as_utc(v.created_at),
        updated_at=as_utc(v.updated_at),
    )


def _ruleset_read(rs: RuleSet, versions: Sequence[RuleSetVersion]) -> RuleSetRead:
    return RuleSetRead(
        id=rs.id,
        name=rs.name,
        description=rs.description,
        created_by=rs.created_by,
        created_at=as_utc(rs.created_at),
        updated_at=as_utc(rs.updated_at),
        versions=[
            VersionSummary(
                version=v.number,
                status=v.status,  # type: ignore[arg-type]
                effective_from=v.effective_from,
                content_hash=v.content_hash,
                agreed_at=_utc(v.agreed_at),
            )
            for v in versions
        ],
    )


async def find_ruleset(session: AsyncSession, ref: str) -> RuleSet:
    """A rule set by id, or by its (unique) name."""
    rs = await store.get_ruleset(session, ref) or await store.get_ruleset_by_name(session, ref)
    if rs is None:
        raise RuleSetNotFound(f"No rule set with id or name {ref!r}.")
    return rs


async def find_version(
    session: AsyncSession, ruleset_id: str, number: int, *, lock: bool = False
) -> RuleSetVersion:
    v = await store.get_version(session, ruleset_id, number, lock=lock)
    if v is None:
        raise VersionNotFound(f"Rule set {ruleset_id} has no version {number}.")
    return v


async def create_ruleset(session: AsyncSession, body: RuleSetCreate, actor: str) -> RuleSetRead:
    if await store.get_ruleset_by_name(session, body.name):
        raise DuplicateRuleSetName(f"A rule set named {body.name!r} exists already.")
    now = utcnow()
    rs = RuleSet(
        id=uuid.uuid4().hex,
        name=body.name,
        description=body.description,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(rs)
    await session.flush()
    return _ruleset_read(rs, [])


async def get_ruleset(session: AsyncSession, ref: str) -> RuleSetRead:
    rs = await find_ruleset(session, ref)
    return _ruleset_read(rs, await store.versions_of(session, [rs.id]))


async def list_rulesets(session: AsyncSession, limit: int, cursor: str | None) -> RuleSetPage:
    position = decode_cursor(cursor)
    after = None
    if position is not None:
        try:
            after = (datetime.fromisoformat(position[0]), str(position[1]))
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise ValidationFailed(
                "The cursor is not one this service issued.",
                errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
            ) from exc
    rows = list(await store.list_rulesets(session, limit + 1, after))
    more = len(rows) > limit
    rows = rows[:limit]
    versions = await store.versions_of(session, [r.id for r in rows])
    by_set: dict[str, list[RuleSetVersion]] = {}
    for v in versions:
        by_set.setdefault(v.ruleset_id, []).append(v)
    items = [_ruleset_read(r, by_set.get(r.id, [])) for r in rows]
    last = rows[-1] if rows else None
    next_cursor = (
        encode_cursor([as_utc(last.created_at).isoformat(), last.id]) if more and last else None
    )
    return RuleSetPage(items=items, next_cursor=next_cursor)


def _period(text: str, loc: Sequence[str]) -> str:
    try:
        parse_period(text)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"loc": list(loc), "msg": str(exc)}]) from exc
    return text


async def create_version(
    session: AsyncSession, ref: str, body: VersionCreate, actor: str
) -> VersionRead:
    rs = await find_ruleset(session, ref)
    digest = validate_rules(body.rules)
    _period(body.effective_from, ("body", "effective_from"))
    await store.lock_ruleset(session, rs.id)  # numbers are handed out one at a time
    now = utcnow()
    v = RuleSetVersion(
        ruleset_id=rs.id,
        number=await store.next_number(session, rs.id),
        status="draft",
        effective_from=body.effective_from,
        rules=body.rules,
        content_hash=digest,
        revision=1,
        warnings=[],
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(v)
    rs.updated_at = now
    await session.flush()
    return version_read(v)


def _check_if_match(v: RuleSetVersion, if_match: str | None) -> None:
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    if "*" not in tags and str(v.revision) not in tags:
        raise PreconditionFailed(
            f"Version {v.number} is at revision {v.revision}; If-Match was {if_match}.",
            current_revision=v.revision,
        )


def _editable(v: RuleSetVersion) -> None:
    if v.status not in EDITABLE:
        raise VersionImmutable(
            f"Version {v.number} is {v.status}: it can no longer change; "
            "create a new version instead."
        )


async def update_version(
    session: AsyncSession,
    ref: str,
    number: int,
    patch: VersionUpdate,
    actor: str,
    if_match: str | None = None,
) -> VersionRead:
    rs = await find_ruleset(session, ref)
    v = await find_version(session, rs.id, number, lock=True)
    _editable(v)
    _check_if_match(v, if_match)
    changes = patch.model_dump(exclude_unset=True)
    if "rules" in changes:
        if changes["rules"] is None:
            raise ValidationFailed(
                "rules cannot be removed", errors=[{"loc": ["body", "rules"], "msg": "required"}]
            )
        rules = merge_patch(v.rules, changes["rules"])
        v.content_hash = validate_rules(rules)
        v.rules = rules
    if changes.get("effective_from") is not None:
        v.effective_from = _period(changes["effective_from"], ("body", "effective_from"))
    if changes:
        v.revision += 1
        v.updated_at = utcnow()
    await session.flush()
    return version_read(v)


async def propose_version(session: AsyncSession, ref: str, number: int, actor: str) -> VersionRead:
    rs = await find_ruleset(session, ref)
    v = await find_version(session, rs.id, number, lock=True)
    if v.status != "draft":
        raise InvalidTransition(f"Only a draft can be proposed; version {number} is {v.status}.")
    v.status = "proposed"
    v.proposed_by = actor
    v.proposed_at = v.updated_at = utcnow()
    v.revision += 1
    await session.flush()
    return version_read(v)


async def reject_version(
    session: AsyncSession, ref: str, number: int, actor: str, reason: str | None
) -> VersionRead:
    rs = await find_ruleset(session, ref)
    v = await find_version(session, rs.id, number, lock=True)
    if v.status not in EDITABLE:
        raise InvalidTransition(
            f"Only a draft or proposed version can be rejected; version {number} is {v.status}."
        )
    v.status = "rejected"
    v.rejected_by = actor
    v.rejected_at = v.updated_at = utcnow()
    v.reject_reason = reason
    v.revision += 1
    await session.flush()
    return version_read(v)


async def agreement_problems(session: AsyncSession, rules: Mapping[str, Any]) -> list[Problem]:
    """attribution.md's checks before an agreement, against the replica as known now."""
    document = parse_rules(rules)
    snapshot = await replica.snapshot_at(
        session, utcnow(), rule_kpis=document.kpis.keys(), measurements=False
    )
    return check_inputs(document, snapshot)


async def agree_version(
    session: AsyncSession,
    ref: str,
    number: int,
    actor: str,
    *,
    expected_hash: str | None = None,
    skip_checks_if_replica_empty: bool = False,
) -> VersionRead:
    """Agree a proposed version: record who/when/hash, freeze it, and supersede older agreed
    versions from its `effective_from` on.

    The checks run against the replica; a replica that never synced has nothing to check
    against: refused, unless `skip_checks_if_replica_empty` (the demo seed), which records
    a warning on the version instead.
    """
    rs = await find_ruleset(session, ref)
    await store.lock_ruleset(session, rs.id)  # one agreement per rule set at a time
    v = await find_version(session, rs.id, number, lock=True)
    if v.status != "proposed":
        raise InvalidTransition(
            f"Only a proposed version can be agreed; version {number} is {v.status}."
            + (" Propose it first." if v.status == "draft" else "")
        )
    digest = validate_rules(v.rules, ("rules",))
    if expected_hash is not None and expected_hash != digest:
        raise ContentChanged(
            f"Version {number} has content hash {digest}, not the {expected_hash} you reviewed.",
            content_hash=digest,
        )
    warnings = list(v.warnings or [])
    if skip_checks_if_replica_empty and await replica.replica_is_empty(session):
        warnings.append(
            {
                "code": "checks_skipped",
                "message": "agreed while the replica of outcomes data was empty: the KPI, "
                "claimed-share and currency checks were not run",
                "at": utcnow().isoformat(),
            }
        )
    else:
        problems = await agreement_problems(session, v.rules)
        if problems:
            errors = _errors(problems, ())
            raise AgreementRefused(
                f"Version {number} cannot be agreed: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                errors=errors,
            )
    now = utcnow()
    start = parse_period(v.effective_from)
    for other in await store.versions_of(session, [rs.id]):
        if other.number == v.number or other.status not in AGREED:
            continue
        # From `v.effective_from` on, v applies: an older version stops there (one starting
        # at or after it never applies again).
        other_start = parse_period(other.effective_from).first_month
        cut = v.effective_from if other_start < start.first_month else other.effective_from
        current = other.superseded_from
        if (
            current is not None
            and parse_period(current).first_month <= parse_period(cut).first_month
        ):
            continue  # already stops earlier
        other.status = "superseded"
        other.superseded_by = v.number
        other.superseded_from = cut
        other.superseded_at = now
        other.updated_at = now
    v.status = "agreed"
    v.agreed_by = actor
    v.agreed_at = v.updated_at = now
    v.content_hash = digest
    v.warnings = warnings
    v.revision += 1
    rs.updated_at = now
    await session.flush()
    return version_read(v)


def applies_at(v: RuleSetVersion, period: str) -> bool:
    """An agreed/superseded version applies to `period` from its effective_from until the
    period a newer agreed version took over."""
    p = parse_period(period).first_month
    if parse_period(v.effective_from).first_month > p:
        return False
    return v.superseded_from is None or p < parse_period(v.superseded_from).first_month


async def effective_version(
    session: AsyncSession, ruleset_id: str, period_from: str
) -> RuleSetVersion | None:
    """The agreed version in force at the start of a range (the run default)."""
    candidates = [
        v
        for v in await store.versions_of(session, [ruleset_id])
        if v.status in AGREED and applies_at(v, period_from)
    ]
    return max(candidates, key=lambda v: v.number, default=None)


async def versions(session: AsyncSession, ruleset_id: str) -> list[RuleSetVersion]:
    return await store.versions_of(session, [ruleset_id])
