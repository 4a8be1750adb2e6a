"""The Python HTTP floor: a minimal Starlette app running the benchmark's raw SQL.

No ORM, no validation, no auth, no middleware: each endpoint runs one statement through an
asyncpg pool and returns the JSON text PostgreSQL built. Run it like the ledger
(`uvicorn bench.peers.starlette_floor:app --workers 2`, uvloop + httptools) with
`BENCH_DSN` pointing at the benchmark database.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench import sql

JSON = "application/json"


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=2, max_size=10)
    try:
        yield
    finally:
        await app.state.pool.close()


async def ping(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type=JSON)


async def list_epics(request: Request) -> Response:
    stream = request.query_params.get("stream", "Revenue")
    limit = min(int(request.query_params.get("limit", "50")), 500)
    body = await request.app.state.pool.fetchval(sql.LIST_EPICS, stream, limit)
    return Response(body, media_type=JSON)


async def get_epic(request: Request) -> Response:
    body = await request.app.state.pool.fetchval(sql.GET_EPIC, request.path_params["key"])
    if body is None:
        return JSONResponse({"title": "Not found"}, status_code=404)
    return Response(body, media_type=JSON)


async def bi_epics(request: Request) -> Response:
    stream = request.query_params.get("stream", "Revenue")
    limit = min(int(request.query_params.get("limit", "500")), 500)
    body = await request.app.state.pool.fetchval(sql.BI_EPICS, stream, limit)
    return Response(body, media_type=JSON)


async def jira_webhook(request: Request) -> Response:
    raw = await request.body()
    dedupe = request.headers.get("x-atlassian-webhook-identifier", "")
    delivery = uuid.uuid4().hex
    headers = json.dumps({"x-atlassian-webhook-identifier": dedupe})
    await request.app.state.pool.fetchval(sql.INSERT_DELIVERY, delivery, dedupe, None, headers, raw)
    return JSONResponse({"delivery_id": delivery}, status_code=202)


app = Starlette(
    routes=[
        Route("/ping", ping),
        Route("/epics", list_epics),
        Route("/epics/{key}", get_epic),
        Route("/bi/epics", bi_epics),
        Route("/webhooks/jira", jira_webhook, methods=["POST"]),
    ],
    lifespan=lifespan,
)
