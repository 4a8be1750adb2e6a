"""RFC 9457 problem+json errors: one base error, one renderer for every failure."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("ledger.errors")


class ProblemDetail(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str = Field(description="URI reference naming the problem type.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Validation errors: `loc` (path) and `msg`."
    )


class LedgerError(Exception):
    """Base of every error a client can cause; rendered as problem+json.

    Subclasses set `status`, `code` and `title`; `detail` says what happened to *this*
    request, and `extra` adds machine-readable members to the problem.
    """

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers
        self.extra = extra


class NotFound(LedgerError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(LedgerError):
    status, code, title = 409, "conflict", "Conflict"


class ValidationFailed(LedgerError):
    status, code, title = 422, "validation-error", "Invalid request"


class PreconditionFailed(LedgerError):
    status, code, title = 412, "precondition-failed", "Precondition failed"


class Unauthorized(LedgerError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(LedgerError):
    status, code, title = 403, "forbidden", "Forbidden"


class PayloadTooLarge(LedgerError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class ServiceUnavailable(LedgerError):
    status, code, title = 503, "service-unavailable", "Service unavailable"


def problem_type(code: str) -> str:
    return f"/problems/{code}"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def error_responses(*errors: type[LedgerError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for a route, so its errors appear in the OpenAPI contract."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        out[err.status] = {
            "model": ProblemDetail,
            "description": err.title,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        }
    return out


def _jsonable_errors(errs: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for e in errs:
        loc = [p if isinstance(p, int | str) else str(p) for p in e.get("loc", ())]
        out.append({"loc": loc, "msg": str(e.get("msg", "invalid")), "type": e.get("type")})
    return out


def _summarise(errs: list[dict[str, Any]]) -> str:
    first = errs[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _allowed_methods(request: Request) -> str:
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):  # through included routers
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.scope["path"]):
            methods |= set(getattr(route, "methods", None) or ())
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return ", ".join(sorted(methods, key=lambda m: (order.index(m) if m in order else 99, m)))


def install_error_handlers(app: FastAPI) -> None:
    """Render every failure (ours, validation, routing, unhandled) as problem+json."""

    async def on_ledger_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LedgerError)
        return problem_response(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            **exc.extra,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errs = _jsonable_errors(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errs):
            return problem_response(
                400,
                "malformed-json",
                "Malformed JSON",
                "The request body is not valid JSON: " + _summarise(errs),
                errors=errs,
            )
        return problem_response(
            422, "validation-error", "Invalid request", _summarise(errs), errors=errs
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        phrase = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route matches {request.method} {request.url.path}."
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
            # Starlette names only the first route matching the path; RFC 9110 wants every
            # method the resource supports (each method is its own route here).
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        code = phrase.lower().replace(" ", "-").replace("'", "")
        return problem_response(exc.status_code, code, phrase, detail, headers=headers)

    async def on_unhandled(request: Request, exc: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id")
        log.exception("unhandled_error", path=request.url.path, request_id=request_id)
        return problem_response(
            500,
            "internal-error",
            "Internal server error",
            f"An unexpected error occurred; quote request id {request_id} when reporting it.",
        )

    app.add_exception_handler(LedgerError, on_ledger_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unhandled)
