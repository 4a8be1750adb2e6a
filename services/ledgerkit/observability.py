"""Operational metrics and optional tracing, on top of the per-route HTTP metrics.

- DB pool gauges, read from the engine's pool when Prometheus scrapes (a custom collector:
  nothing to keep up to date, never stale).
- Webhook inbox counts by status (services whose tables include `webhook_deliveries`): one
  cheap `GROUP BY status` query at scrape time, cached for a few seconds so frequent scrapes
  do not load the database, bounded by a timeout so a slow database never hangs `/metrics`.
- Attribution run durations and replica lag: the attribution service calls
  `observe_run_duration(app, seconds)` and `set_replica_lag(app, lag)`.
- OpenTelemetry traces only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The SDK is an optional
  extra (`pip install 'outcome-ledger[otel]'`), imported lazily here; without it the service
  logs a warning and runs untraced.

Each uvicorn worker process has its own registry: pool gauges are per worker (labelled with
the process id), inbox counts are database-wide.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

if TYPE_CHECKING:
    from fastapi import FastAPI

log = structlog.get_logger("ledger.observability")

WEBHOOK_TABLE = "webhook_deliveries"
# Every status an inbound delivery can have (outcomes.models.webhooks.WebhookDelivery);
# reported as 0 when absent so alerts on e.g. `failed > 0` have a series to look at.
WEBHOOK_STATUSES = ("received", "processed", "ignored", "failed", "rejected", "duplicate", "stale")
SCRAPE_CACHE_SECONDS = 5.0
SCRAPE_QUERY_TIMEOUT = 2.0
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

ScrapeHook = Callable[["FastAPI"], Awaitable[None]]


class PoolCollector(Collector):
    """Connection-pool gauges of one `Database`, computed when scraped."""

    def __init__(self, app: FastAPI, service: str) -> None:
        self.app = app
        self.service = service
        self.pid = str(os.getpid())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.app.state.db.engine.pool
        labels = ["service", "pid"]
        values = [self.service, self.pid]
        specs = (
            ("ledger_db_pool_size", "Configured pool size (connections kept open).", "size"),
            ("ledger_db_pool_checked_out", "Connections in use by requests now.", "checkedout"),
            ("ledger_db_pool_checked_in", "Idle connections in the pool now.", "checkedin"),
            (
                "ledger_db_pool_overflow",
                "Connections open beyond the pool size (DB_MAX_OVERFLOW caps it).",
                "overflow",
            ),
        )
        for name, doc, method in specs:
            fn = getattr(pool, method, None)
            if fn is None:  # NullPool / StaticPool have no such counters
                continue
            g = GaugeMetricFamily(name, doc, labels=labels)
            value = float(fn())
            g.add_metric(values, max(value, 0.0) if method == "overflow" else value)
            yield g

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


@dataclass
class Observability:
    """What a service's `/metrics` exposes beyond the HTTP metrics (`app.state.observability`)."""

    registry: CollectorRegistry
    service: str
    scrape_hooks: list[ScrapeHook] = field(default_factory=list)
    _run_duration: Histogram | None = None
    _replica_lag: Gauge | None = None
    _replica_lag_seconds: Gauge | None = None
    _inbox: Gauge | None = None
    _inbox_fetched: float = 0.0
    tracer_provider: Any = None

    def run_duration(self) -> Histogram:
        if self._run_duration is None:
            self._run_duration = Histogram(
                "ledger_attribution_run_duration_seconds",
                "Wall time of attribution runs, by outcome (succeeded / failed).",
                ["service", "status"],
                registry=self.registry,
                buckets=RUN_BUCKETS,
            )
        return self._run_duration

    def replica_lag(self) -> tuple[Gauge, Gauge]:
        if self._replica_lag is None or self._replica_lag_seconds is None:
            self._replica_lag = Gauge(
                "ledger_replica_lag_changes",
                "Change-log entries outcomes has that the attribution replica has not applied.",
                ["service"],
                registry=self.registry,
            )
            self._replica_lag_seconds = Gauge(
                "ledger_replica_lag_seconds",
                "Age of the newest change the replica has not applied (0 when caught up).",
                ["service"],
                registry=self.registry,
            )
        return self._replica_lag, self._replica_lag_seconds

    def inbox(self) -> Gauge:
        if self._inbox is None:
            self._inbox = Gauge(
                "ledger_webhook_deliveries",
                "Inbound webhook deliveries in the inbox, by status (database-wide).",
                ["service", "status"],
                registry=self.registry,
            )
            for status in WEBHOOK_STATUSES:
                self._inbox.labels(self.service, status).set(0)
        return self._inbox


def install(app: FastAPI, *, service: str, registry: CollectorRegistry, tables: set[str]) -> None:
    """Wire the collectors into the app's registry (called by `ledgerkit.app.build_app`)."""
    obs = Observability(registry=registry, service=service)
    app.state.observability = obs
    registry.register(PoolCollector(app, service))
    if WEBHOOK_TABLE in tables:
        obs.inbox()
        obs.scrape_hooks.append(refresh_webhook_inbox)
    if service == "attribution":
        obs.run_duration()
        obs.replica_lag()


async def refresh(app: FastAPI) -> None:
    """Run the scrape hooks (just before `/metrics` renders). Never raises."""
    obs: Observability | None = getattr(app.state, "observability", None)
    if obs is None:
        return
    for hook in obs.scrape_hooks:
        try:
            await asyncio.wait_for(hook(app), SCRAPE_QUERY_TIMEOUT)
        except Exception as exc:  # a metric must never break /metrics or the service
            log.warning("metrics_refresh_failed", hook=hook.__name__, error=type(exc).__name__)


async def refresh_webhook_inbox(app: FastAPI) -> None:
    obs: Observability = app.state.observability
    now = time.monotonic()
    if obs._inbox_fetched and now - obs._inbox_fetched < SCRAPE_CACHE_SECONDS:
        return
    async with app.state.db.session() as session:
        rows = (
            await session.execute(
                text(f"SELECT status, COUNT(*) AS n FROM {WEBHOOK_TABLE} GROUP BY status")
            )
        ).all()
    counts = dict.fromkeys(WEBHOOK_STATUSES, 0) | {str(r.status): int(r.n) for r in rows}
    gauge = obs.inbox()
    for status, n in counts.items():
        gauge.labels(obs.service, status).set(n)
    obs._inbox_fetched = now


def observe_run_duration(app: FastAPI, seconds: float, *, status: str = "succeeded") -> None:
    """Record how long one attribution run took (`status`: succeeded or failed)."""
    obs: Observability = app.state.observability
    obs.run_duration().labels(obs.service, status).observe(max(seconds, 0.0))


def set_replica_lag(app: FastAPI, lag: int, *, seconds: float | None = None) -> None:
    """Record how far the replica is behind: `lag` change-log entries (outcomes head seq
    minus the last applied seq) and, when known, how old the oldest unapplied change is."""
    obs: Observability = app.state.observability
    changes, age = obs.replica_lag()
    changes.labels(obs.service).set(max(lag, 0))
    if seconds is not None or lag <= 0:
        age.labels(obs.service).set(max(seconds or 0.0, 0.0))


# --- OpenTelemetry (optional) -------------------------------------------------------------

OTEL_PACKAGES = "opentelemetry-sdk, opentelemetry-exporter-otlp-proto-http"


def setup_tracing(app: FastAPI, service: str, endpoint: str) -> bool:
    """Export traces over OTLP/HTTP to `endpoint` when the optional SDK is installed.

    Returns whether tracing is on. A missing package is a warning, never a crash: tracing
    is an add-on, the ledger must run without it.
    """
    if not endpoint:
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        log.warning(
            "otel_unavailable",
            detail="OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not "
            f"installed ({OTEL_PACKAGES}; pip install 'outcome-ledger[otel]'); tracing is off.",
            missing=exc.name,
        )
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or f"ledger-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS, _TIMEOUT) itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    app.state.observability.tracer_provider = provider
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError:
        log.warning("otel_fastapi_instrumentation_missing", service=service)
    else:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics"
        )
    try:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    except ImportError:
        pass
    else:
        SQLAlchemyInstrumentor().instrument(
            engine=app.state.db.engine.sync_engine, tracer_provider=provider
        )
    log.info("otel_enabled", service=service, endpoint=endpoint, service_name=name)
    return True


async def shutdown(app: FastAPI) -> None:
    """Flush pending spans (lifespan shutdown)."""
    obs: Observability | None = getattr(app.state, "observability", None)
    provider = obs.tracer_provider if obs else None
    if provider is not None:
        await asyncio.to_thread(provider.shutdown)
