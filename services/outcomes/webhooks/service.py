"""Webhook deliveries: record (inbox), then apply to epics — two short transactions.

1. **Inbox.** The delivery is authenticated and parsed in memory (`prepare`), then stored raw
   (headers without secrets, body bytes) in its own committed transaction — as `received`,
   or as `rejected` with the reason when authentication or parsing failed. If that commit
   fails the source gets 503 + Retry-After (never 500: ADO puts a subscription on probation
   after a 500, and disables it after a 410).
2. **Processing.** A second transaction takes a per-item lock, decides duplicate / stale /
   ignored, applies the event through the epics and contributions services (actor `jira`
   or `ado`, so the change log records it like any REST change) and marks the delivery, all
   atomically. If it raises, it rolls back and a third, tiny transaction marks the delivery
   `failed` with the reason; an admin replays it once the cause is fixed.

Accepted deliveries arriving together go through `outcomes.webhooks.batcher`, which runs
both transactions once for all of them (same outcome per delivery, one commit per batch);
rejected ones, replays and a process without a batcher take the path below, one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ledgerkit.db import Database
from ledgerkit.errors import LedgerError
from ledgerkit.timeutil import utcnow
from outcomes.models import WebhookDelivery
from outcomes.webhooks import store
from outcomes.webhooks.ado import parse_ado
from outcomes.webhooks.apply import Outcome, apply_event
from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.errors import (
    DeliveryNotFound,
    DeliveryNotReplayable,
    DeliveryTooLarge,
    WebhookStoreUnavailable,
    WebhookUnauthorized,
)
from outcomes.webhooks.events import SourceEvent
from outcomes.webhooks.jira import parse_jira
from outcomes.webhooks.verify import verify_ado, verify_jira

if TYPE_CHECKING:
    from outcomes.webhooks.batcher import Batcher

log = structlog.get_logger("ledger.webhooks")

Parser = Callable[[bytes, dict[str, str], WebhookConfig, datetime], SourceEvent]
PARSERS: dict[str, Parser] = {"jira": parse_jira, "ado": parse_ado}
SOURCES = tuple(PARSERS)

# Bodies kept for deliveries that failed authentication (anyone can send those).
UNAUTHENTICATED_BODY_BYTES = 64 * 1024
_NOT_REPLAYABLE = (WebhookUnauthorized.code, DeliveryTooLarge.code)
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie"}
_MAX_HEADERS, _MAX_HEADER_VALUE = 60, 1000


@dataclass(frozen=True)
class Accepted:
    delivery_id: str
    status: str
    reason: str | None


def is_transient(exc: BaseException) -> bool:
    """The database is down, restarting or overloaded: worth a retry by the source."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError)
    return isinstance(exc, PoolTimeout | OSError | TimeoutError)


def unavailable(exc: BaseException, delivery_id: str | None = None) -> WebhookStoreUnavailable:
    """503 + Retry-After; naming the delivery when it was stored (processing failed)."""
    extra: dict[str, Any] = {"delivery_id": delivery_id} if delivery_id is not None else {}
    return WebhookStoreUnavailable(
        f"The delivery could not be stored or processed ({type(exc).__name__}); "
        "nothing was applied, retry shortly.",
        headers={"Retry-After": "5"},
        **extra,
    )


def _stored_headers(headers: dict[str, str], config: WebhookConfig) -> dict[str, str]:
    """Headers worth keeping for diagnosis and replay; credentials are never stored."""
    secret = config.ado_header_name.lower()
    out: dict[str, str] = {}
    for name, value in list(headers.items())[:_MAX_HEADERS]:
        name = name.lower()
        if value and name in _SECRET_HEADERS:
            value = value.split(" ", 1)[0] + " <redacted>"
        elif value and name == secret:
            value = "<redacted>"
        out[name] = value[:_MAX_HEADER_VALUE]
    return out


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, LedgerError):
        return _reason(exc)
    return f"{type(exc).__name__}: {exc}"[:4000]


def _reason(exc: LedgerError) -> str:
    return f"{exc.code}: {exc.detail}"[:4000]


def _peek_event_type(body: bytes) -> str | None:
    """Best effort, for the record of a rejected delivery."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict):
        value = data.get("webhookEvent") or data.get("eventType")
        return value[:100] if isinstance(value, str) else None
    return None


@dataclass
class Prepared:
    """A delivery authenticated and parsed in memory, with the inbox row to store."""

    source: str
    values: dict[str, Any]
    event: SourceEvent | None  # None: rejected, or our parser crashed (then `failed`)
    rejection: LedgerError | None


def prepare(
    source: str,
    headers: dict[str, str],
    body: bytes,
    config: WebhookConfig,
    *,
    oversized: int | None = None,
) -> Prepared:
    """Authenticate and parse; no I/O. Rejections are kept (stored, then raised)."""
    received_at = utcnow()
    rejection: LedgerError | None = None
    event: SourceEvent | None = None
    crash: str | None = None
    try:
        if oversized is not None:
            raise DeliveryTooLarge(
                f"The body ({oversized} bytes) is larger than this service accepts; only its "
                f"first {len(body)} bytes were recorded.",
                max_bytes=oversized,
            )
        if source == "jira":
            verify_jira(config, headers, body)
        else:
            verify_ado(config, headers)
        event = PARSERS[source](body, headers, config, received_at)
    except LedgerError as exc:
        rejection = exc
    except Exception as exc:  # a bug of ours, not the sender's: keep it, replay after the fix
        log.exception("webhook_parse_error", source=source)
        crash = f"{type(exc).__name__}: {exc}"[:4000]
    if isinstance(rejection, WebhookUnauthorized):
        body = body[:UNAUTHENTICATED_BODY_BYTES]
    values = {
        "source": source,
        "event_type": event.event_type if event else _peek_event_type(body),
        "dedupe_key": event.dedupe_key[:300] if event else None,
        "item_key": event.item_id if event else None,
        "item_order": event.item_order if event else None,
        "status": "rejected" if rejection else "failed" if crash else "received",
        "reason": _reason(rejection) if rejection else crash,
        "headers": _stored_headers(headers, config),
        "body": body,
        "received_at": received_at,
        "processed_at": received_at if rejection or crash else None,
        "attempts": 0,
    }
    return Prepared(source, values, event, rejection)


async def receive(
    db: Database,
    source: str,
    headers: dict[str, str],
    body: bytes,
    config: WebhookConfig,
    *,
    oversized: int | None = None,
    batcher: Batcher | None = None,
) -> Accepted:
    """Record one delivery, then process it. Raises the rejection (4xx, naming the stored
    delivery) or `WebhookStoreUnavailable` (503). With a `batcher`, an accepted delivery is
    stored and processed together with the others arriving meanwhile (same outcome)."""
    prepared = prepare(source, headers, body, config, oversized=oversized)
    if batcher is not None and prepared.event is not None:
        return await batcher.submit(prepared, config)
    try:
        async with db.session(write=True) as session:
            pk, delivery_id = await store.insert_delivery(session, prepared.values)
    except Exception as exc:
        log.warning("webhook_inbox_unavailable", source=source, error=repr(exc)[:500])
        raise unavailable(exc) from exc
    rejection = prepared.rejection
    if rejection is not None:
        rejection.extra["delivery_id"] = delivery_id
        log.info(
            "webhook_rejected",
            source=source,
            delivery_id=delivery_id,
            reason=prepared.values["reason"],
        )
        raise rejection
    if prepared.event is None:
        return Accepted(delivery_id, "failed", prepared.values["reason"])
    outcome = await process(db, pk, delivery_id, prepared.event, config)
    return Accepted(delivery_id, outcome.status, outcome.reason)


async def process(
    db: Database, pk: int, delivery_id: str, event: SourceEvent, config: WebhookConfig
) -> Outcome:
    """Apply a stored delivery in one transaction; on failure mark it `failed`."""
    try:
        async with db.session(write=True) as session:
            outcome = await apply_event(session, pk, event, config)
            await store.mark(
                session,
                pk,
                status=outcome.status,
                reason=outcome.reason,
                epic_id=outcome.epic_id,
                processed_at=utcnow(),
                event=event,
            )
        return outcome
    except Exception as exc:
        transient = is_transient(exc)
        if isinstance(exc, LedgerError):
            reason = _reason(exc)
        else:
            reason = f"{type(exc).__name__}: {exc}"[:4000]
            if not transient:
                log.exception("webhook_processing_error", delivery_id=delivery_id)
        failed = Outcome("failed", reason, None)
        try:
            async with db.session(write=True) as session:
                await store.mark(
                    session,
                    pk,
                    status="failed",
                    reason=reason,
                    epic_id=None,
                    processed_at=utcnow(),
                    event=event,
                )
        except Exception as mark_exc:
            if is_transient(mark_exc):
                raise unavailable(mark_exc, delivery_id) from exc
            raise
        if transient:
            # Stored but not applied: ask the source to retry (the retry is no duplicate,
            # since this delivery is `failed`); an admin can also replay this one.
            raise unavailable(exc, delivery_id) from exc
        return failed


def replayable(delivery: WebhookDelivery) -> bool:
    return not (
        delivery.status == "rejected" and (delivery.reason or "").startswith(_NOT_REPLAYABLE)
    )


async def replay(db: Database, delivery_id: str, config: WebhookConfig) -> WebhookDelivery:
    """Process a stored delivery again with today's configuration (any status). The source
    authenticated it when it arrived; deliveries that failed authentication or were cut
    off at the size cap cannot be replayed."""
    async with db.session() as session:
        delivery = await store.get(session, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"No webhook delivery has the id {delivery_id!r}.")
    if not replayable(delivery):
        raise DeliveryNotReplayable(
            f"Delivery {delivery_id} was rejected ({delivery.reason}); it cannot be replayed.",
            delivery_id=delivery_id,
        )
    if delivery.source not in PARSERS:
        raise DeliveryNotReplayable(f"Unknown source {delivery.source!r}.")
    try:
        event = PARSERS[delivery.source](
            delivery.body, dict(delivery.headers or {}), config, delivery.received_at
        )
    except LedgerError as exc:
        async with db.session(write=True) as session:
            await store.mark(
                session,
                delivery.pk,
                status="rejected",
                reason=_reason(exc),
                epic_id=None,
                processed_at=utcnow(),
            )
    else:
        await process(db, delivery.pk, delivery.id, event, config)
    async with db.session() as session:
        fresh = await store.get(session, delivery_id)
    assert fresh is not None
    return fresh
