"""The outbound dispatcher: change log → deliveries → signed POSTs, in order, retried.

A pass has two steps.
1. **Fan-out** (one transaction): for each active subscription, read the change log after its
   `after_seq`, create one `outbound_deliveries` row per matching event and advance
   `after_seq` — together, so after a crash or restart nothing is skipped and nothing is
   queued twice (a unique key on (subscription, seq) guards it too).
2. **Delivery**: per subscription, only the oldest open delivery may be sent (so a receiver
   sees events in change-log order; a failing one blocks the later ones). It is *claimed* in
   a short transaction (status `sending`, a lease in `next_attempt_at`), POSTed with no
   transaction open, and its outcome recorded in another short transaction. On PostgreSQL
   the claim locks the subscription row `FOR UPDATE SKIP LOCKED`, so several replicas can
   run dispatchers: each subscription is worked by one at a time and nobody waits. A worker
   that dies mid-POST leaves a lease that runs out, and the delivery is sent again —
   delivery is at-least-once; receivers dedupe on `X-Ledger-Delivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog
from fastapi import FastAPI
from sqlalchemy import select

from ledgerkit.db import Database
from ledgerkit.timeutil import as_utc, iso_utc, utcnow
from outcomes.models import OutboundDelivery, Subscription
from outcomes.settings import OutcomesSettings
from outcomes.subscriptions import store
from outcomes.subscriptions.events import event_type, wants
from outcomes.subscriptions.signing import signature

log = structlog.get_logger("ledger.outbound")

FANOUT_BATCH = 500
FANOUT_MAX_BATCHES = 20  # per subscription per pass; the rest comes next pass
MAX_PER_SUBSCRIPTION = 200  # deliveries per subscription per pass
CONCURRENCY = 8  # subscriptions delivered to at once
LEASE_MARGIN = timedelta(seconds=30)
USER_AGENT = "OutcomeLedger-Events/1"


@dataclass
class PassResult:
    queued: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0


@dataclass(frozen=True)
class Claim:
    delivery_pk: int
    delivery_id: str
    attempt: int
    event_type: str
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """base × 2^(attempt−1), capped, with ±20 % jitter so retries from many subscriptions
    to one receiver do not arrive in lockstep."""
    raw = min(cap, base * float(2 ** min(attempt - 1, 30)))
    return float(max(0.0, min(cap, raw * random.uniform(0.8, 1.2))))


class Dispatcher:
    def __init__(
        self, db: Database, settings: OutcomesSettings, client: httpx.AsyncClient | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self._client = client
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # --- one pass ----------------------------------------------------------------------

    async def dispatch_once(self, now: datetime | None = None) -> PassResult:
        """Fan out new changes, then deliver what is due. `now` lets tests step the clock
        past a backoff instead of sleeping through it."""
        async with self._lock:
            result = PassResult()
            result.queued = await self.fan_out(now)
            async with self.db.session() as s:
                pks = await store.active_subscription_pks(s)
            if not pks:
                return result
            client = self._client or httpx.AsyncClient(follow_redirects=False)
            sem = asyncio.Semaphore(CONCURRENCY)

            async def one(pk: int) -> None:
                async with sem:
                    await self._deliver_subscription(client, pk, now, result)

            try:
                await asyncio.gather(*(one(pk) for pk in pks))
            finally:
                if self._client is None:
                    await client.aclose()
            return result

    async def fan_out(self, now: datetime | None = None) -> int:
        async with self.db.session() as s:
            head = await store.head_seq(s)
            behind = await s.scalar(
                select(Subscription.pk)
                .where(Subscription.active.is_(True), Subscription.after_seq < head)
                .limit(1)
            )
        if behind is None:
            return 0  # nothing new: no write transaction at all
        queued = 0
        at = now or utcnow()
        async with self.db.session(write=True) as s:
            for pk in await store.active_subscription_pks(s):
                sub = await store.lock_subscription(s, pk)
                if sub is None:
                    continue  # another dispatcher is on it
                for _ in range(FANOUT_MAX_BATCHES):
                    changes = await store.changes_after(s, sub.after_seq, FANOUT_BATCH)
                    if not changes:
                        break
                    for c in changes:
                        et = event_type(c.entity, c.action)
                        if et is not None and wants(sub.event_types, et):
                            s.add(
                                OutboundDelivery(
                                    subscription_pk=sub.pk,
                                    change_seq=c.seq,
                                    event_type=et,
                                    status="pending",
                                    next_attempt_at=at,
                                )
                            )
                            queued += 1
                    sub.after_seq = changes[-1].seq
                    await s.flush()
                    if len(changes) < FANOUT_BATCH:
                        break
        return queued

    async def _deliver_subscription(
        self, client: httpx.AsyncClient, sub_pk: int, now: datetime | None, result: PassResult
    ) -> None:
        for _ in range(MAX_PER_SUBSCRIPTION):
            claim = await self._claim(sub_pk, now)
            if claim is None:
                return
            outcome = await self._post(client, claim)
            status = await self._record(claim, outcome, now)
            if status == "delivered":
                result.delivered += 1
                continue
            if status == "failed":
                result.given_up += 1
                continue  # given up: the next one may go
            result.failed_attempts += 1
            return  # retrying: later deliveries wait, so order holds

    async def _claim(self, sub_pk: int, now: datetime | None) -> Claim | None:
        at = now or utcnow()
        async with self.db.session(write=True) as s:
            sub = await store.lock_subscription(s, sub_pk)
            if sub is None:
                return None
            d = await store.head_delivery(s, sub_pk)
            if d is None:
                return None
            if d.next_attempt_at is not None and as_utc(d.next_attempt_at) > at:
                return None  # not due yet, or another worker's lease is still running
            c = await store.change(s, d.change_seq)
            if c is None:  # cannot happen with an append-only log; never block on it
                d.status, d.last_error = "failed", "change-log entry missing"
                return None
            payload: dict[str, Any] = {
                "id": d.id,
                "type": d.event_type,
                "seq": c.seq,
                "occurred_at": iso_utc(c.at),
                "data": c.data,
            }
            d.status = "sending"
            d.attempts += 1
            d.next_attempt_at = (
                at + timedelta(seconds=self.settings.outbound_timeout) + LEASE_MARGIN
            )
            return Claim(
                delivery_pk=d.pk,
                delivery_id=d.id,
                attempt=d.attempts,
                event_type=d.event_type,
                url=sub.url,
                secret=sub.secret,
                body=orjson.dumps(payload),
            )

    async def _post(self, client: httpx.AsyncClient, claim: Claim) -> Outcome:
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Ledger-Event": claim.event_type,
            "X-Ledger-Delivery": claim.delivery_id,
            "X-Ledger-Timestamp": ts,
            "X-Ledger-Signature": signature(claim.secret, ts, claim.body),
        }
        try:
            r = await client.post(
                claim.url,
                content=claim.body,
                headers=headers,
                timeout=self.settings.outbound_timeout,
            )
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= r.status_code < 300:
            return Outcome(True, r.status_code, None)
        return Outcome(False, r.status_code, f"HTTP {r.status_code}")

    async def _record(self, claim: Claim, outcome: Outcome, now: datetime | None) -> str:
        at = now or utcnow()
        s_cfg = self.settings
        if outcome.ok:
            status, next_at, delivered_at = "delivered", None, at
        elif s_cfg.outbound_max_attempts and claim.attempt >= s_cfg.outbound_max_attempts:
            status, next_at, delivered_at = "failed", None, None
        else:
            delay = backoff_seconds(
                claim.attempt, s_cfg.outbound_backoff_base, s_cfg.outbound_backoff_cap
            )
            status, next_at, delivered_at = "retrying", at + timedelta(seconds=delay), None
        async with self.db.session(write=True) as s:
            recorded = await store.finish(
                s,
                claim.delivery_pk,
                claimed_attempt=claim.attempt,
                status=status,
                next_attempt_at=next_at,
                status_code=outcome.status_code,
                error=outcome.error,
                delivered_at=delivered_at,
            )
        if not recorded:
            log.warning("outbound_claim_lost", delivery=claim.delivery_id)
            return "lost"
        if status != "delivered":
            log.info(
                "outbound_delivery_failed",
                delivery=claim.delivery_id,
                attempt=claim.attempt,
                status_code=outcome.status_code,
                error=outcome.error,
                next_attempt_at=iso_utc(next_at) if next_at else None,
            )
        return status

    # --- background loop ---------------------------------------------------------------

    def start(self, interval: float) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(interval), name="outbound-dispatcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad pass must not end the loop; the next one retries
                log.exception("outbound_dispatch_failed")


async def start_dispatcher(app: FastAPI) -> None:
    """Lifespan hook: one dispatcher per process (`app.state.dispatcher`), looping every
    OUTBOUND_INTERVAL seconds unless that is 0 (then tests call `dispatch_once()`)."""
    settings: OutcomesSettings = app.state.settings
    dispatcher = Dispatcher(app.state.db, settings)
    app.state.dispatcher = dispatcher
    if settings.outbound_interval > 0:
        dispatcher.start(settings.outbound_interval)


async def stop_dispatcher(app: FastAPI) -> None:
    dispatcher: Dispatcher | None = getattr(app.state, "dispatcher", None)
    if dispatcher is not None:
        await dispatcher.stop()
