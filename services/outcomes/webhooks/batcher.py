"""Group commit behind the inbox: concurrent deliveries are stored together, then processed
together, each request still answered with its own outcome.

One `Batcher` per process (`app.state.webhook_batcher`). A request that authenticated and
parsed its delivery queues it and waits on a future. A drain task starts as soon as
something is queued (no timer: a lone delivery goes straight through) and takes everything
waiting, up to `max_batch`; what arrives meanwhile forms the next batch.

- **Transaction A** stores all of the batch's inbox rows in one multi-row INSERT and commits
  (PostgreSQL: that one statement in autocommit): every delivery is durable before
  anything is processed. If A fails, every request of the batch gets 503 (as a lone
  delivery would).
- **Transaction B** processes them in arrival order in one transaction: the per-item
  advisory locks for all items in one statement (sorted, so lockers never deadlock), the
  dedupe hits, epics by source id (and which epic keys are taken) and known KPI slugs read
  once for the batch, each event decided as a lone delivery is (`apply_or_plan`: same
  epics/contributions services, same change log) with runs of consecutive creates of new
  epics written together (`create_all`), the outcomes written in one executemany — one
  commit, so the change log's chain lock and the commit's fsync are paid once per batch.
- If B raises, it is rolled back and the batch's deliveries are processed one by one with
  `service.process` (a single bad delivery ends `failed` with its reason, the others are
  applied). A transient database error marks them `failed` and answers 503 instead, as the
  lone path does.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ledgerkit.db import Database
from ledgerkit.timeutil import utcnow
from outcomes.models import Epic
from outcomes.webhooks import service, store
from outcomes.webhooks.apply import (
    Creation,
    Lookups,
    Outcome,
    apply_or_plan,
    create_all,
    kpi_slugs,
)
from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.events import SourceEvent
from outcomes.webhooks.service import Accepted, Prepared

log = structlog.get_logger("ledger.webhooks")

MAX_BATCH = 100
LANES = 2  # batches processed at once per process (PostgreSQL)


@dataclass(slots=True)
class _Waiting:
    prepared: Prepared
    config: WebhookConfig
    future: asyncio.Future[Accepted]


class BatchMetrics:
    """Prometheus view of the batcher (per worker process): batch sizes and latencies."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.size = Histogram(
            "ledger_webhook_batch_size",
            "Deliveries per webhook batch (stored and processed together).",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 100),
        )
        self.seconds = Histogram(
            "ledger_webhook_batch_seconds",
            "From storing a webhook batch to the end of its processing.",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )


class Batcher:
    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = MAX_BATCH,
        lanes: int = LANES,
        metrics: BatchMetrics | None = None,
    ) -> None:
        self.db = db
        self.writer = _writer(db)
        self.max_batch = max_batch
        # SQLite has one writer: a second batch would only queue for the write lock, and
        # not necessarily in order.
        self.lanes = 1 if db.is_sqlite else lanes
        self.metrics = metrics
        self._queue: deque[_Waiting] = deque()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._wake = asyncio.Event()
        self.batches = 0  # counters, for tests and diagnosis (bench.profile prints them)
        self.largest = 0
        self.seconds = 0.0  # sum of batch latencies (start of store to end of processing)

    async def submit(self, prepared: Prepared, config: WebhookConfig) -> Accepted:
        """Store and process one accepted delivery with whatever else is queued; its
        outcome, or raises `WebhookStoreUnavailable` (503)."""
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        waiting = _Waiting(prepared, config, future)
        if self._closed:  # shutting down: no drain task any more, go alone
            await _run_batch(self.db, [waiting])
            return future.result()
        self._queue.append(waiting)
        self._wake.set()
        if self._task is None or self._task.done():
            # A fresh context: the drain serves many requests, it belongs to none of them.
            self._task = asyncio.get_running_loop().create_task(
                self._drain(), context=contextvars.Context()
            )
        return await future

    async def _drain(self) -> None:
        """Take a batch whenever a lane is free: store it (A), then process it (B) as a task
        once the previous batch holds its item locks, so batches take each item's lock in
        arrival order while up to `lanes` of them wait on the database at once."""
        inflight: set[asyncio.Task[None]] = set()
        previous: asyncio.Event | None = None  # set once the last started batch is locked
        batch: list[_Waiting] = []
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self._queue and len(inflight) < self.lanes:
                    size = min(len(self._queue), self.max_batch)
                    batch = [self._queue.popleft() for _ in range(size)]
                    self.batches += 1
                    self.largest = max(self.largest, size)
                    started = time.perf_counter()
                    stored = await _store(self.writer, batch)
                    if stored is not None:
                        if previous is not None:
                            await previous.wait()
                        previous = asyncio.Event()
                        task = loop.create_task(self._process(batch, stored, started, previous))
                        inflight.add(task)
                        task.add_done_callback(inflight.discard)
                    batch = []
                elif inflight:
                    # Wake up for whichever comes first: a batch done, or new deliveries
                    # while a lane is free.
                    waiting: set[asyncio.Future[Any]] = set(inflight)
                    waiter = None
                    if len(inflight) < self.lanes:
                        self._wake.clear()
                        waiter = loop.create_task(self._wake.wait())
                        waiting.add(waiter)
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    if waiter is not None:
                        waiter.cancel()
                else:
                    return
        except BaseException as exc:  # a bug, or cancelled: nobody may wait forever
            if not isinstance(exc, asyncio.CancelledError):
                log.exception("webhook_batch_crashed", size=len(batch))
            for task in inflight:
                task.cancel()
            for w in [*batch, *self._queue]:
                _settle(w, exc=service.unavailable(exc))
            self._queue.clear()
            raise

    async def _process(
        self,
        batch: list[_Waiting],
        stored: list[tuple[int, str]],
        started: float,
        locked: asyncio.Event,
    ) -> None:
        try:
            await _process(self.db, batch, stored, locked)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                log.exception("webhook_batch_crashed", size=len(batch))
            for w in batch:
                _settle(w, exc=service.unavailable(exc))
            raise
        finally:
            locked.set()
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            if self.metrics is not None:
                self.metrics.size.observe(len(batch))
                self.metrics.seconds.observe(elapsed)

    async def close(self) -> None:
        """Finish what is queued; later deliveries are processed alone."""
        self._closed = True
        if self._task is not None:
            await self._task


def _settle(w: _Waiting, result: Accepted | None = None, exc: BaseException | None = None) -> None:
    if w.future.done():  # the request went away (client disconnected); the work is done
        return
    if exc is not None:
        w.future.set_exception(exc)
    else:
        assert result is not None
        w.future.set_result(result)


def _writer(db: Database) -> AsyncEngine:
    """The engine for transaction A. PostgreSQL: autocommit — A is one statement (one
    multi-row INSERT: `max_batch` rows stay within one insertmanyvalues page), atomic and
    durable on its own, so BEGIN and COMMIT would be two round trips for nothing. SQLite:
    write mode (BEGIN IMMEDIATE)."""
    if db.is_sqlite:
        return db.engine.execution_options(ledger_write=True)
    return db.engine.execution_options(isolation_level="AUTOCOMMIT")


async def _run_batch(db: Database, batch: list[_Waiting]) -> None:
    """A, then B (or its fallbacks), for one batch on its own; settles every future."""
    stored = await _store(_writer(db), batch)
    if stored is not None:
        await _process(db, batch, stored, None)


async def _store(writer: AsyncEngine, batch: list[_Waiting]) -> list[tuple[int, str]] | None:
    """Transaction A: the batch's inbox rows, committed. None (and 503s) if it failed."""
    try:
        async with writer.begin() as conn:
            return await store.insert_deliveries(conn, [w.prepared.values for w in batch])
    except Exception as exc:
        log.warning("webhook_inbox_unavailable", size=len(batch), error=repr(exc)[:500])
        for w in batch:
            _settle(w, exc=service.unavailable(exc))
        return None


async def _process(
    db: Database,
    batch: list[_Waiting],
    stored: list[tuple[int, str]],
    locked: asyncio.Event | None,
) -> None:
    """Transaction B, or the fallbacks when it fails; settles every future of the batch.
    `locked` is set once B holds its items' locks (the next batch may then start)."""
    events: list[SourceEvent] = []
    for w in batch:
        assert w.prepared.event is not None
        events.append(w.prepared.event)
    config = batch[0].config
    try:
        outcomes = await process_batch(db, stored, events, config, locked)
    except Exception as exc:
        if service.is_transient(exc):
            await _fail_all(db, batch, stored, exc)
            return
        log.warning("webhook_batch_fallback", size=len(batch), error=service.reason_of(exc)[:500])
        for w, (pk, delivery_id), event in zip(batch, stored, events, strict=True):
            try:
                outcome = await service.process(db, pk, delivery_id, event, config)
            except Exception as one_exc:
                _settle(w, exc=one_exc)
            else:
                _settle(w, Accepted(delivery_id, outcome.status, outcome.reason))
        return
    for w, (_, delivery_id), outcome in zip(batch, stored, outcomes, strict=True):
        _settle(w, Accepted(delivery_id, outcome.status, outcome.reason))


async def _fail_all(
    db: Database, batch: list[_Waiting], stored: list[tuple[int, str]], exc: Exception
) -> None:
    """The database went away during processing: mark the batch `failed` if it can be
    done, and ask the sources to retry (503); an admin can replay them too."""
    reason = service.reason_of(exc)
    try:
        async with db.session(write=True) as session:
            now = utcnow()
            await store.mark_many(
                session,
                [
                    {
                        "b_pk": pk,
                        "b_status": "failed",
                        "b_reason": reason,
                        "b_epic_id": None,
                        "b_processed_at": now,
                    }
                    for pk, _ in stored
                ],
            )
    except Exception as mark_exc:
        log.warning("webhook_mark_failed_unavailable", error=repr(mark_exc)[:500])
    for w, (_, delivery_id) in zip(batch, stored, strict=True):
        _settle(w, exc=service.unavailable(exc, delivery_id))


class BatchLookups(Lookups):
    """`apply_event`'s reads for a whole batch, made once, after all its items are locked.

    Dedupe hits are kept up to date with the batch's own outcomes. An epic read for the
    batch serves the first delivery of its item only; later ones of the same item read it
    again (within the transaction, so they see what the earlier ones did)."""

    def __init__(self) -> None:
        self.done: dict[tuple[str, str], str] = {}
        self.epics: dict[tuple[str, str], Epic] = {}
        self.fresh: set[tuple[str, str]] = set()
        self.kpis_asked: set[str] = set()
        self.kpis_known: set[str] = set()
        # Of the batch's epic keys, those in use when it was read: the key check of the
        # batch's first creates, if nothing was written before them.
        self.keys_in_use: set[str] = set()

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        events: list[SourceEvent],
        config: WebhookConfig,
        locked: asyncio.Event | None = None,
    ) -> BatchLookups:
        self = cls()
        live = [e for e in events if e.action != "ignore" and e.item_id is not None]
        await store.lock_items(session, [(e.source, e.item_id) for e in live if e.item_id])
        if locked is not None:
            locked.set()
        for source in sorted({e.source for e in live}):
            mine = [e for e in live if e.source == source]
            done = await store.find_done_many(session, source, [e.dedupe_key for e in mine])
            self.done.update({(source, key): d for key, d in done.items()})
        self.fresh = {(e.source, e.item_id) for e in live if e.item_id is not None}
        keys = [e.key for e in live if e.key is not None]
        self.epics, self.keys_in_use = await store.epics_for_batch(session, list(self.fresh), keys)
        for e in live:
            self.kpis_asked.update(kpi_slugs(e, config))
        if self.kpis_asked:
            self.kpis_known = await store.existing_kpis(session, sorted(self.kpis_asked))
        return self

    async def lock_item(self, session: AsyncSession, event: SourceEvent) -> None:
        return None  # all of the batch's items are locked already

    async def find_done(self, session: AsyncSession, event: SourceEvent, pk: int) -> str | None:
        return self.done.get((event.source, event.dedupe_key))

    async def epic_by_source(self, session: AsyncSession, event: SourceEvent) -> Epic | None:
        assert event.item_id is not None
        key = (event.source, event.item_id)
        if key in self.fresh:
            self.fresh.discard(key)
            return self.epics.get(key)
        return await super().epic_by_source(session, event)

    async def existing_kpis(self, session: AsyncSession, slugs: list[str]) -> set[str]:
        if self.kpis_asked.issuperset(slugs):
            return {s for s in slugs if s in self.kpis_known}
        return await super().existing_kpis(session, slugs)

    def applied(self, event: SourceEvent, delivery_id: str, status: str) -> None:
        if status in store.DONE_STATUSES:
            self.done.setdefault((event.source, event.dedupe_key), delivery_id)

    def without_epic(self, event: SourceEvent) -> bool:
        """Deciding `event` cannot touch an epic: it is ignored unread, or it is the first
        of its item in the batch and the item had no epic when the batch was read."""
        if event.action == "ignore" or event.item_id is None:
            return True
        key = (event.source, event.item_id)
        return key in self.fresh and key not in self.epics


async def process_batch(
    db: Database,
    stored: list[tuple[int, str]],
    events: list[SourceEvent],
    config: WebhookConfig,
    locked: asyncio.Event | None = None,
) -> list[Outcome]:
    """Apply stored deliveries in order in one transaction; raises (nothing applied) if
    any of them does. `locked` is set as soon as the items are locked.

    Consecutive creates of new epics are written together (`create_all`: one key check,
    one INSERT of the epics, one of their stream rows). That is the same as one by one
    because a create is held back only while the events after it are of items that had no
    epic and are not being created — deciding those writes nothing and reads nothing the
    held creates write (`apply_or_plan`) — and any other event writes the held creates
    first, so every event still sees the ledger as the earlier ones left it, and the
    change log gets the same entries in the same order."""
    async with db.session(write=True) as session:
        await store.plan_afresh(session)
        lookups = await BatchLookups.load(session, events, config, locked)
        outcomes: list[Outcome | None] = [None] * len(events)
        held: dict[int, Creation] = {}  # by position in the batch, in order
        held_items: set[tuple[str, str | None]] = set()
        wrote = False  # anything written yet (every write is a `processed` outcome)

        async def write_held() -> None:
            nonlocal wrote
            # Until something is written, the keys read with the batch's epics are current.
            in_use = None if wrote else lookups.keys_in_use
            created = await create_all(session, list(held.values()), keys_in_use=in_use)
            for i, outcome in zip(held, created, strict=True):
                outcomes[i] = outcome
            held.clear()
            held_items.clear()
            wrote = True

        for i, ((pk, delivery_id), event) in enumerate(zip(stored, events, strict=True)):
            item = (event.source, event.item_id)
            if held and (item in held_items or not lookups.without_epic(event)):
                await write_held()
            step = await apply_or_plan(session, pk, event, config, lookups)
            if isinstance(step, Creation):
                held[i] = step
                held_items.add(item)
                lookups.applied(event, delivery_id, "processed")
            else:
                outcomes[i] = step
                lookups.applied(event, delivery_id, step.status)
                wrote = wrote or step.status == "processed"
        if held:
            await write_held()
        now = utcnow()
        done = [o for o in outcomes if o is not None]
        assert len(done) == len(events)
        rows: list[dict[str, Any]] = [
            {
                "b_pk": pk,
                "b_status": o.status,
                "b_reason": o.reason,
                "b_epic_id": o.epic_id,
                "b_processed_at": now,
            }
            for (pk, _), o in zip(stored, done, strict=True)
        ]
        await store.mark_many(session, rows)
    return done


async def start_batcher(app: FastAPI) -> None:
    """Lifespan hook: the process's batcher (its drain task starts with the first delivery)."""
    metrics: BatchMetrics | None = getattr(app.state, "webhook_batch_metrics", None)
    registry: CollectorRegistry | None = getattr(app.state, "registry", None)
    if metrics is None and registry is not None:  # once per app (lifespans may repeat)
        metrics = app.state.webhook_batch_metrics = BatchMetrics(registry)
    app.state.webhook_batcher = Batcher(app.state.db, metrics=metrics)


async def stop_batcher(app: FastAPI) -> None:
    batcher: Batcher | None = getattr(app.state, "webhook_batcher", None)
    if batcher is not None:
        await batcher.close()
