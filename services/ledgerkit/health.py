"""`/healthz` (process alive), `/readyz` (database answers) and `/metrics` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from ledgerkit import observability
from ledgerkit.errors import ProblemDetail, ServiceUnavailable

router = APIRouter(tags=["health"])


class Status(BaseModel):
    status: str


@router.get("/healthz", operation_id="health-healthz", response_model=Status)
async def healthz() -> Status:
    return Status(status="ok")


@router.get(
    "/readyz",
    operation_id="health-readyz",
    response_model=Status,
    responses={503: {"model": ProblemDetail, "description": "Database unreachable"}},
)
async def readyz(request: Request) -> Status:
    try:
        await request.app.state.db.ping(timeout=2.0)
    except (TimeoutError, OSError, SQLAlchemyError) as exc:
        raise ServiceUnavailable(
            f"The database does not answer: {type(exc).__name__}.",
            headers={"Retry-After": "5"},
        ) from exc
    return Status(status="ready")


@router.get(
    "/metrics",
    operation_id="health-metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    await observability.refresh(request.app)
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
