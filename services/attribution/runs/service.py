"""Runs: snapshot the replica as known at `as_of`, compute with a rule set version, store
everything needed to re-derive every number, and verify that later.

The computation runs outside any database transaction (in a worker thread, so the event
loop keeps serving); only the final insert of the run and its lines is a write.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attribution.engine import (
    InputError,
    RulesError,
    RunResult,
    Snapshot,
    compute,
    content_hash,
    parse_period,
    parse_rules,
)
from attribution.models import AttributionRun, RuleSetVersion
from attribution.replica import service as replica
from attribution.replica import store as replica_store
from attribution.rulesets import service as rulesets
from attribution.rulesets.errors import InvalidRules
from attribution.runs import store
from attribution.runs.errors import (
    NoAgreedVersion,
    RunInputsInvalid,
    RunNotFound,
    ScopeRequired,
    VersionNotRunnable,
)
from attribution.runs.lines import LineRows
from attribution.runs.schemas import (
    BenefitLinePage,
    BenefitLineRead,
    HashCheck,
    RunCreate,
    RunPage,
    RunRead,
    RunTotals,
    StreamTotal,
    VerifyRead,
)
from ledgerkit.auth import Principal
from ledgerkit.db import Database
from ledgerkit.errors import ValidationFailed
from ledgerkit.money import Money
from ledgerkit.pagination import decode_cursor, encode_cursor
from ledgerkit.timeutil import as_utc, utcnow

MAX_MISMATCHES = 20
T = TypeVar("T")


def _f(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _money(amount: str | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=Decimal(amount), currency=currency)


def _problems(exc: InputError | RulesError, prefix: Sequence[str]) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *p.path], "msg": p.message, "type": p.code} for p in exc.problems]


# --- choosing the version ----------------------------------------------------------------


async def _choose_version(
    session: AsyncSession, ruleset_id: str, body: RunCreate
) -> RuleSetVersion:
    if body.version is not None:
        v = await rulesets.find_version(session, ruleset_id, body.version)
        if not body.preview and v.status not in rulesets.AGREED:
            raise NoAgreedVersion(
                f"Version {v.number} is {v.status}: official runs need an agreed version "
                "(send preview: true for a what-if run on it)."
            )
        if v.status == "rejected":
            raise VersionNotRunnable(f"Version {v.number} was rejected; it cannot be run.")
        return v
    agreed = await rulesets.effective_version(session, ruleset_id, body.period_from)
    if agreed is not None:
        return agreed
    if body.preview:
        candidates = [
            v for v in await rulesets.versions(session, ruleset_id) if v.status != "rejected"
        ]
        if candidates:
            return max(candidates, key=lambda v: v.number)
    raise NoAgreedVersion(
        f"No agreed version of this rule set is in force at {body.period_from}; agree one "
        "(finance), name a `version`, or send preview: true to try a draft."
    )


def _range_checks(body: RunCreate) -> None:
    start, end = parse_period(body.period_from), parse_period(body.period_to)
    if start.first_month > end.last_month:
        raise ValidationFailed(
            f"The range ends ({body.period_to}) before it starts ({body.period_from}).",
            errors=[{"loc": ["body", "to"], "msg": "the range ends before it starts"}],
        )


async def _service_warnings(
    session: AsyncSession, ruleset_id: str, version: RuleSetVersion, body: RunCreate
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    end = parse_period(body.period_to).last_month
    if version.superseded_from and parse_period(version.superseded_from).first_month <= end:
        out.append(
            {
                "code": "version_superseded_in_range",
                "message": f"version {version.superseded_by} applies from "
                f"{version.superseded_from}; this run applies version {version.number} to the "
                "whole range (run the later periods separately)",
                "kpi": None,
                "epic": None,
            }
        )
    state = await replica.sync_state(session)
    if state.lag > 0 or state.last_error:
        out.append(
            {
                "code": "replica_behind",
                "message": f"the replica had applied change {state.after} of {state.head}"
                + (f"; last sync error: {state.last_error}" if state.last_error else ""),
                "kpi": None,
                "epic": None,
            }
        )
    return out


# --- computing and storing ----------------------------------------------------------------


CHUNK = 50_000  # lines per SQLite executemany / verify comparison
COPY_CHUNK = 10_000  # lines per COPY data message: small, so PostgreSQL ingests as we produce


@dataclass
class _Computed:
    result: RunResult
    compute_ms: float


def _compute(
    rules: dict[str, Any], snapshot: Snapshot, period_from: str, period_to: str
) -> _Computed:
    t0 = time.perf_counter()
    result = compute(rules, snapshot, period_from, period_to)
    return _Computed(result, (time.perf_counter() - t0) * 1000)


def _encode(snapshot: Snapshot) -> tuple[bytes, float]:
    """The stored snapshot: zlib of its canonical JSON (already made for the input hash;
    zlib releases the GIL, so this runs beside the line writer)."""
    t0 = time.perf_counter()
    blob = zlib.compress(snapshot.to_canonical(), 6)
    return blob, (time.perf_counter() - t0) * 1000


def _line_rows(run_id: str, result: RunResult, streams: dict[str, str], hasher: Any) -> LineRows:
    return LineRows(run_id, result.table, streams, replica.UNTAGGED_STREAM, hasher)


async def _next_in_thread(chunks: Iterator[T], default: T) -> T:
    return await asyncio.to_thread(next, chunks, default)


async def _store_lines(
    session: AsyncSession, run_id: str, result: RunResult, streams: dict[str, str]
) -> str:
    """Insert the lines; their hash. The rows are made in a worker thread chunk by chunk
    while the database takes the previous chunk (PostgreSQL: one streamed COPY; SQLite:
    executemany on its own thread), so making and inserting overlap."""
    hasher = hashlib.sha256()
    rows = _line_rows(run_id, result, streams, hasher)
    if await store.is_postgresql(session):
        texts = rows.copy_chunks(COPY_CHUNK)

        async def produce() -> AsyncIterator[bytes]:
            while chunk := await _next_in_thread(texts, b""):
                yield chunk

        await store.copy_lines(session, produce())
        return hasher.hexdigest()
    chunks = rows.row_chunks(CHUNK)
    pending = await _next_in_thread(chunks, [])
    while pending:
        _, pending = await asyncio.gather(
            store.insert_lines(session, pending), _next_in_thread(chunks, [])
        )
    return hasher.hexdigest()


def _epic_summaries(result: RunResult, snapshot: Snapshot) -> list[dict[str, Any]]:
    epics = {e.id: e for e in snapshot.epics}
    out = []
    for b in result.epics:
        e = epics.get(b.epic_id)
        out.append(
            {
                "epic_id": b.epic_id,
                "epic": b.epic_key,
                "title": e.title if e else "",
                "team": e.team if e else None,
                "streams": list(e.streams) if e else [],
                "currency": b.currency,
                "realized": _f(b.realized),
                "run_rate": _f(b.run_rate),
                "latest_period": b.latest_period,
                "planned_cost": _f(b.planned_cost),
                "payback_period": b.payback_period,
                "kpis": [
                    {
                        "kpi": k.kpi,
                        "realized": _f(k.realized),
                        "run_rate": _f(k.run_rate),
                        "latest_period": k.latest_period,
                    }
                    for k in b.kpis
                ],
            }
        )
    return out


def _totals(result: RunResult) -> dict[str, Any]:
    t = result.totals
    c = t.currency
    return {
        "benefit": {"amount": _f(t.benefit), "currency": c},
        "unattributed": {"amount": _f(t.unattributed), "currency": c},
        "lines": t.lines,
        "gaps": t.gaps,
        "by_stream": [
            {"stream": s.stream, "benefit": {"amount": _f(s.benefit), "currency": c}}
            for s in t.by_stream
        ],
    }


def _jsonable(items: Sequence[Any]) -> list[dict[str, Any]]:
    from attribution.engine.canonical import to_json_value

    out = []
    for item in items:
        value = to_json_value(item)
        assert isinstance(value, dict)
        out.append(value)
    return out


def run_read(run: AttributionRun) -> RunRead:
    totals = run.totals
    return RunRead(
        id=run.id,
        ruleset=run.ruleset_id,
        version=run.ruleset_version,
        content_hash=run.content_hash,
        input_hash=run.input_hash,
        lines_hash=run.lines_hash,
        status=run.status,  # type: ignore[arg-type]
        period_from=run.period_from,
        period_to=run.period_to,
        as_of=as_utc(run.as_of),
        currency=run.currency,
        replica_after=run.replica_after,
        totals=RunTotals(
            benefit=Money(**totals["benefit"]),
            unattributed=Money(**totals["unattributed"]),
            lines=totals["lines"],
            gaps=totals["gaps"],
            by_stream=[
                StreamTotal(stream=s["stream"], benefit=Money(**s["benefit"]))
                for s in totals["by_stream"]
            ],
        ),
        gaps=run.gaps,
        warnings=run.warnings,
        unattributed=run.unattributed,
        timings=run.timings,
        created_by=run.created_by,
        created_at=as_utc(run.created_at),
    )


async def create_run(
    db: Database, session: AsyncSession, principal: Principal, body: RunCreate
) -> RunRead:
    """Compute and store a run. Official (preview false) needs `finance` and an agreed
    version; a preview needs `write` and may use a draft."""
    needed = "write" if body.preview else "finance"
    if not principal.has(needed):
        raise ScopeRequired(
            f"{'A preview' if body.preview else 'An official'} run needs the `{needed}` "
            f"scope; the key {principal.name!r} has {', '.join(sorted(principal.scopes))}."
            + ("" if body.preview else " Send preview: true for a what-if run."),
            required_scope=needed,
        )
    _range_checks(body)
    started = time.perf_counter()
    as_of = as_utc(body.as_of) if body.as_of else utcnow()
    async with db.session() as read:
        ruleset = await rulesets.find_ruleset(read, body.ruleset)
        version = await _choose_version(read, ruleset.id, body)
        rules = dict(version.rules)
        try:
            document = parse_rules(rules)
        except RulesError as exc:  # stored drafts are validated; belt and braces
            raise InvalidRules(str(exc), errors=_problems(exc, ["rules"])) from exc
        warnings = await _service_warnings(read, ruleset.id, version, body)
        state = await replica_store.peek_state(read)
        snapshot = await replica.snapshot_at(
            read, as_of, rule_kpis=document.kpis.keys(), period_to=body.period_to
        )
    snapshot_ms = (time.perf_counter() - started) * 1000
    run_id = uuid.uuid4().hex
    try:
        done = await asyncio.to_thread(_compute, rules, snapshot, body.period_from, body.period_to)
    except InputError as exc:
        raise RunInputsInvalid(
            f"The inputs fail a check before the run: {exc.problems[0]}"
            + (f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""),
            errors=_problems(exc, ["inputs"]),
        ) from exc
    result = done.result
    store_started = time.perf_counter()
    encoding = asyncio.ensure_future(asyncio.to_thread(_encode, snapshot))
    streams = {k.slug: k.stream for k in snapshot.kpis}
    try:
        lines_hash = await _store_lines(session, run_id, result, streams)
    finally:
        blob, encode_ms = await encoding
    run = AttributionRun(
        id=run_id,
        ruleset_id=ruleset.id,
        ruleset_version=version.number,
        status="preview" if body.preview else "official",
        content_hash=result.content_hash,
        input_hash=result.input_hash,
        lines_hash=lines_hash,
        period_from=body.period_from,
        period_to=body.period_to,
        as_of=as_of,
        currency=result.currency,
        replica_after=state.after if state else 0,
        created_by=principal.name,
        created_at=utcnow(),
        timings={},
        totals=_totals(result),
        gaps=_jsonable(result.gaps),
        warnings=[*_jsonable(result.warnings), *warnings],
        unattributed=_jsonable(result.unattributed),
        epics=_epic_summaries(result, snapshot),
        rules=rules,
        snapshot=blob,
    )
    run.timings = {
        "snapshot_ms": round(snapshot_ms, 1),
        "compute_ms": round(done.compute_ms, 1),
        "encode_ms": round(encode_ms, 1),
        "store_ms": round((time.perf_counter() - store_started) * 1000, 1),
        "total_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    await store.insert_run(session, run)
    return run_read(run)


# --- reading ------------------------------------------------------------------------------


async def find_run(session: AsyncSession, run_id: str) -> AttributionRun:
    run = await store.get_run(session, run_id)
    if run is None:
        raise RunNotFound(f"No run with id {run_id!r}.")
    return run


async def get_run(session: AsyncSession, run_id: str) -> RunRead:
    return run_read(await find_run(session, run_id))


def _cursor_pair(cursor: str | None) -> tuple[datetime, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return datetime.fromisoformat(position[0]), str(position[1])
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc


async def list_runs(
    session: AsyncSession,
    limit: int,
    cursor: str | None,
    *,
    ruleset: str | None = None,
    status: str | None = None,
) -> RunPage:
    ruleset_id = (await rulesets.find_ruleset(session, ruleset)).id if ruleset else None
    rows = list(
        await store.list_runs(
            session, limit + 1, _cursor_pair(cursor), ruleset_id=ruleset_id, status=status
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return RunPage(
        items=[run_read(r) for r in rows],
        next_cursor=encode_cursor([as_utc(last.created_at).isoformat(), last.id])
        if more and last
        else None,
    )


async def list_lines(
    session: AsyncSession,
    run_id: str,
    limit: int,
    cursor: str | None,
    *,
    epic: str | None = None,
    kpi: str | None = None,
    stream: str | None = None,
    period: str | None = None,
) -> BenefitLinePage:
    await find_run(session, run_id)
    position = decode_cursor(cursor)
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    after = position or 0
    rows = list(
        await store.list_lines(
            session,
            run_id,
            limit + 1,
            after,
            epic=epic,
            kpi=kpi,
            stream=stream,
            period=period,
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        BenefitLineRead(
            seq=r.seq,
            epic=r.epic_key,
            epic_id=r.epic_id,
            kpi=r.kpi,
            stream=r.stream,
            period=r.period,
            uplift=r.uplift,
            share=r.share,
            ramp=r.ramp,
            period_value=_money(r.period_value, r.currency),
            benefit=_money(r.benefit, r.currency),
            cumulative=_money(r.cumulative, r.currency),
        )
        for r in rows
    ]
    return BenefitLinePage(
        items=items, next_cursor=encode_cursor(rows[-1].seq) if more and rows else None
    )


# --- verifying ----------------------------------------------------------------------------


def _recompute(
    rules: dict[str, Any], blob: bytes, period_from: str, period_to: str
) -> tuple[RunResult, dict[str, str], str]:
    snapshot = Snapshot.from_dict(orjson.loads(zlib.decompress(blob)))
    result = compute(rules, snapshot, period_from, period_to)
    streams = {k.slug: k.stream for k in snapshot.kpis}
    return result, streams, content_hash(rules)


async def verify_run(session: AsyncSession, run_id: str) -> VerifyRead:
    """Recompute the run from its stored snapshot and rules; compare both hashes and every
    line with what was stored (chunk by chunk, string-exact)."""
    run = await find_run(session, run_id)
    blob = (
        await session.execute(select(AttributionRun.snapshot).where(AttributionRun.id == run_id))
    ).scalar_one()
    version = await rulesets.find_version(session, run.ruleset_id, run.ruleset_version)
    try:
        result, streams, rules_hash = await asyncio.to_thread(
            _recompute, run.rules, blob, run.period_from, run.period_to
        )
    except (InputError, RulesError) as exc:
        raise RunInputsInvalid(
            f"The stored inputs no longer compute: {exc}", errors=_problems(exc, ["stored"])
        ) from exc
    hasher = hashlib.sha256()
    mismatches: list[dict[str, Any]] = []
    stored_count = 0
    cols = ("seq", *store.LINE_COLUMNS[2:])
    chunks = _line_rows("", result, streams, hasher).row_chunks(CHUNK)
    start = 0  # lines up to this seq are compared
    # The next chunk is recomputed (worker thread) while this one's stored rows are read.
    pending = asyncio.ensure_future(_next_in_thread(chunks, []))
    while True:
        rows = await pending
        if rows:
            pending = asyncio.ensure_future(_next_in_thread(chunks, []))
        upto = rows[-1][1] if rows else start + CHUNK
        stored = await store.lines_between(session, run_id, start, upto)
        if not stored and not rows:
            break
        stored_count += len(stored)
        recomputed = [row[1:] for row in rows]
        if stored != recomputed:
            for i in range(max(len(stored), len(recomputed))):
                a = stored[i] if i < len(stored) else None
                b = recomputed[i] if i < len(recomputed) else None
                if a != b and len(mismatches) < MAX_MISMATCHES:
                    mismatches.append(
                        {
                            "seq": start + i + 1,
                            "stored": dict(zip(cols, a, strict=True)) if a else None,
                            "recomputed": dict(zip(cols, b, strict=True)) if b else None,
                        }
                    )
        start = upto
    recomputed_lines_hash = hasher.hexdigest()
    input_check = HashCheck(
        stored=run.input_hash, recomputed=result.input_hash, ok=run.input_hash == result.input_hash
    )
    content_ok = run.content_hash == rules_hash == result.content_hash
    if run.status == "official":
        content_ok = content_ok and version.content_hash == run.content_hash
    content_check = HashCheck(stored=run.content_hash, recomputed=rules_hash, ok=content_ok)
    lines_check = HashCheck(
        stored=run.lines_hash,
        recomputed=recomputed_lines_hash,
        ok=run.lines_hash == recomputed_lines_hash,
    )
    ok = input_check.ok and content_check.ok and lines_check.ok and not mismatches
    problems = [
        name
        for name, good in (
            ("input hash", input_check.ok),
            ("content hash", content_check.ok),
            ("lines hash", lines_check.ok),
            ("lines", not mismatches),
        )
        if not good
    ]
    detail = (
        f"Recomputed {len(result.table)} lines from the stored snapshot: identical."
        if ok
        else "Mismatch in " + ", ".join(problems) + "."
    )
    if version.content_hash != run.content_hash:
        detail += (
            f" Version {version.number} ({version.status}) was edited after the run; "
            "the run keeps the rules it computed with."
        )
    return VerifyRead(
        ok=ok,
        run=run.id,
        detail=detail,
        input_hash=input_check,
        content_hash=content_check,
        lines_hash=lines_check,
        version_content_hash=version.content_hash,
        lines_checked=stored_count,
        lines_recomputed=len(result.table),
        mismatches=mismatches,
    )
