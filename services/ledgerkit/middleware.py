"""ASGI middleware: request id, access log, Prometheus metrics and the request-size cap."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerkit.errors import problem_response

log = structlog.get_logger("ledger.http")

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class HttpMetrics:
    """Per-route request counters, latency histogram and in-flight gauge."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.requests = Counter(
            "ledger_http_requests_total",
            "HTTP requests by route template and status.",
            ["service", "method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "ledger_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["service", "method", "route"],
            registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.in_flight = Gauge(
            "ledger_http_requests_in_flight",
            "HTTP requests being handled now.",
            ["service"],
            registry=registry,
        )
        self.service = service


class RequestContextMiddleware:
    """Gives each request an id (honouring `X-Request-ID`), logs and measures it."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else ""
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        method = scope["method"]
        status = 500
        started = time.perf_counter()
        m = self.metrics
        m.in_flight.labels(m.service).inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        started_response = False

        async def tracking_send(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_wrapper(message)

        try:
            where = _nul_in_url(scope)
            if where:
                # No identifier or filter holds a NUL; PostgreSQL text cannot even compare
                # one (and a streamed answer could not turn that into a problem any more).
                response = problem_response(
                    422,
                    "validation-error",
                    "Invalid request",
                    f"The {where} holds a NUL character (%00), which no value here can contain.",
                    errors=[{"loc": [where], "msg": "NUL character"}],
                )
                await response(scope, receive, tracking_send)
                return
            if method in _BODY_METHODS:
                capped = await self._capped_receive(scope, receive, headers, tracking_send)
                if capped is None:
                    return
                receive = capped
            try:
                await self.app(scope, receive, tracking_send)
            except Exception:
                # Rendered here (not by Starlette's outermost handler) so the 500 carries
                # the request id, in the body and the header, and no stack trace.
                log.exception("unhandled_error", path=scope["path"])
                if started_response:
                    raise
                response = problem_response(
                    500,
                    "internal-error",
                    "Internal server error",
                    "An unexpected error occurred; quote request id "
                    f"{request_id} when reporting it.",
                )
                await response(scope, receive, tracking_send)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            m.in_flight.labels(m.service).dec()
            m.requests.labels(m.service, method, template, str(status)).inc()
            m.latency.labels(m.service, method, template).observe(elapsed)
            state = scope.get("state", {})
            log.info(
                "request",
                method=method,
                path=scope["path"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                actor=state.get("actor"),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    async def _capped_receive(
        self, scope: Scope, receive: Receive, headers: dict[str, str], send: Send
    ) -> Receive | None:
        """Read the body up front (it is needed anyway) so an oversized one gets 413."""
        declared = headers.get("content-length")
        limit = self.max_body_bytes
        too_big = declared is not None and declared.isdigit() and int(declared) > limit
        chunks: list[bytes] = []
        size = 0
        more = True
        while more and not too_big:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive
            chunk = message.get("body", b"")
            size += len(chunk)
            too_big = size > limit
            chunks.append(chunk)
            more = message.get("more_body", False)
        if too_big:
            state = scope.setdefault("state", {})
            state["body_too_large"] = True
            if _accepts_truncated_body(scope):
                # The route records what it can of the request (e.g. a webhook inbox) and
                # answers 413 itself; it gets at most TRUNCATED_BODY_BYTES of the body.
                state["body_size"] = int(declared) if declared and declared.isdigit() else size
                while more and size < TRUNCATED_BODY_BYTES:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return receive
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    chunks.append(chunk)
                    more = message.get("more_body", False)
                return _replay(b"".join(chunks)[:TRUNCATED_BODY_BYTES], receive)
            response = problem_response(
                413,
                "payload-too-large",
                "Payload too large",
                f"The request body is larger than the {limit} bytes this service accepts.",
                max_bytes=limit,
            )
            await response(scope, receive, send)
            return None
        return _replay(b"".join(chunks), receive)


def _nul_in_url(scope: Scope) -> str | None:
    if "\x00" in scope["path"]:
        return "path"
    if b"%00" in scope.get("query_string", b""):
        return "query"
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


TRUNCATED_BODY_BYTES = 64 * 1024
_TRUNCATED_ATTR = "ledger_accepts_truncated_body"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def accepts_truncated_body(endpoint: Endpoint) -> Endpoint:
    """Mark a route endpoint that wants to see requests whose body is over the size cap:
    it gets the first TRUNCATED_BODY_BYTES, `request.state.body_too_large` is True and
    `request.state.body_size` the size, and it must answer 413 itself."""
    setattr(endpoint, _TRUNCATED_ATTR, True)
    return endpoint


def _accepts_truncated_body(scope: Scope) -> bool:
    """Whether the route at this exact path opted in (checked only for oversized requests)."""
    router = getattr(scope.get("app"), "router", None)
    return any(
        path == scope["path"] and getattr(endpoint, _TRUNCATED_ATTR, False)
        for path, endpoint in _walk_routes(getattr(router, "routes", ()), "")
    )


def _walk_routes(routes: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(path, endpoint) of every route, through included routers (FastAPI keeps those as
    branches holding the original router and its include prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _walk_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        else:
            yield prefix + str(getattr(route, "path", "")), getattr(route, "endpoint", None)


def client_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"
