"""The app skeleton both services share: errors, middleware, auth, health, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ledgerkit import health, observability
from ledgerkit.auth import KeyStore, parse_static_keys
from ledgerkit.db import Database
from ledgerkit.errors import install_error_handlers, problem_response
from ledgerkit.logs import configure_logging
from ledgerkit.middleware import HttpMetrics, RequestContextMiddleware
from ledgerkit.openapi import install_openapi
from ledgerkit.settings import CommonSettings

log = structlog.get_logger("ledger.app")

Hook = Callable[[FastAPI], Awaitable[None]]


def build_app(
    *,
    service: str,
    title: str,
    version: str,
    description: str,
    settings: CommonSettings,
    database_url: str,
    key_table: Table,
    routers: Sequence[APIRouter],
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
) -> FastAPI:
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in on_startup:
            await hook(app)
        try:
            yield
        finally:
            for hook in on_shutdown:
                await hook(app)
            await observability.shutdown(app)
            await app.state.db.dispose()
            log.info("shutdown_complete", service=service)

    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        openapi_tags=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.db = Database(
        database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
    )
    app.state.key_store = KeyStore(parse_static_keys(settings.api_keys), key_table)
    app.state.registry = CollectorRegistry()
    metrics = HttpMetrics(app.state.registry, service)
    observability.install(
        app, service=service, registry=app.state.registry, tables=set(key_table.metadata.tables)
    )

    install_error_handlers(app)
    install_database_error_handlers(app)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    install_openapi(app, public_paths={"/healthz", "/readyz", "/metrics"})

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Location", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes
    )
    observability.setup_tracing(app, service, settings.otel_exporter_otlp_endpoint)
    return app


def install_database_error_handlers(app: FastAPI) -> None:
    """A database that is down or busy is the server's problem, not the client's: 503 with
    Retry-After so clients (and Jira/ADO) try again. A unique-constraint race is a 409; a
    value the database refuses (SQLSTATE class 22) is the client's 422."""

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            503,
            "database-unavailable",
            "Service unavailable",
            f"The database is unavailable or busy ({type(exc).__name__}); retry shortly.",
            headers={"Retry-After": "5"},
        )

    async def on_integrity(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            409,
            "conflict",
            "Conflict",
            "The change conflicts with data stored meanwhile (a uniqueness rule); "
            "read the resource again and retry.",
        )

    async def on_dbapi(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DBAPIError)
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return await on_unavailable(request, exc)
        if str(getattr(exc.orig, "sqlstate", "") or "").startswith("22"):
            # SQLSTATE class 22 "data exception": PostgreSQL refused a value the request
            # carried (a NUL character, a number out of the column's range): the client's
            # input, not our failure.
            log.warning("database_refused_value", path=request.url.path, error=str(exc.orig))
            return problem_response(
                422,
                "invalid-value",
                "Invalid value",
                "A value in the request cannot be stored or compared (for example a NUL "
                "character in a text, or a number out of range).",
            )
        log.exception("database_error", path=request.url.path)
        return problem_response(
            500,
            "internal-error",
            "Internal server error",
            "The database rejected the operation unexpectedly; the error was logged.",
        )

    handlers: dict[Any, Any] = {
        IntegrityError: on_integrity,
        OperationalError: on_unavailable,
        DBAPIError: on_dbapi,
        PoolTimeout: on_unavailable,
        ConnectionError: on_unavailable,
        TimeoutError: on_unavailable,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
