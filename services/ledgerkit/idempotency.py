"""`Idempotency-Key` on POST: a retried request replays the first response, never repeats
the effect.

Use it through a route class bound to the service's key table:

    IdempotentRoute = idempotent_route_class(IdempotencyRecord.__table__)
    router = APIRouter(tags=["epics"], route_class=IdempotentRoute)

Every POST route of such a router then accepts the header. How it works:

- Keys are scoped per actor (the API key's name): two clients may use the same key.
- Before the handler runs, the key is *claimed* in the request's own transaction by
  inserting a placeholder row (`status_code` 0). After the handler returned its response
  (and before the unit of work commits), the placeholder is filled with the status, headers
  and body. So the record commits together with the effect, or not at all: a request that
  fails (any error) leaves no record and may be retried with the same key.
- Same key, same method, path and body (sha256) → the stored response is replayed (same
  status, body, `Location`, `ETag`, plus `Idempotent-Replayed: true`). Same key with a
  different body or path → 422 `idempotency-key-reused`.
- Concurrent duplicates: on PostgreSQL the second claim blocks on the first's uncommitted
  row (unique key) until it commits, then replays it (or, if the first failed, runs
  normally). On SQLite writers are serialized (BEGIN IMMEDIATE), with the same outcome.
  A placeholder seen committed (a handler that could not be recorded) answers 409
  `idempotency-in-progress`.
- Records are kept (no expiry yet); the table is small (one row per keyed POST).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.auth import Principal, current_principal
from ledgerkit.deps import SessionDep
from ledgerkit.errors import Conflict, ValidationFailed, error_responses
from ledgerkit.timeutil import utcnow

HEADER = "Idempotency-Key"
_STATE_KEY = "idempotency_pending"
# Response headers worth replaying (the rest are per-response: date, request id, length).
_KEEP_HEADERS = ("content-type", "location", "etag")


class IdempotencyKeyReused(ValidationFailed):
    code, title = "idempotency-key-reused", "Idempotency key reused"


class IdempotencyInProgress(Conflict):
    code, title = "idempotency-in-progress", "Request with this key in progress"


class IdempotentReplay(Exception):
    """Raised by the claim step to short-circuit the handler with the stored response."""

    def __init__(self, response: Response) -> None:
        super().__init__("replay")
        self.response = response


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry-safe POST: the same key and body replay the first response; "
        "the same key with a different body → 422. Scoped to your API key.",
    ),
]


@dataclass
class _Pending:
    session: AsyncSession
    table: Table
    actor: str
    key: str

    async def finish(self, response: Response) -> None:
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in response.raw_headers
            if k.decode("latin-1").lower() in _KEEP_HEADERS
        }
        body = bytes(response.body) if hasattr(response, "body") else b""
        t = self.table
        await self.session.execute(
            update(t)
            .where(t.c.actor == self.actor, t.c.key == self.key)
            .values(status_code=response.status_code, response_headers=headers, response_body=body)
        )


def _replay(row: Any) -> Response:
    headers = dict(row.response_headers or {})
    headers["Idempotent-Replayed"] = "true"
    return Response(content=row.response_body, status_code=row.status_code, headers=headers)


def claim_dependency(table: Table) -> Callable[..., Coroutine[Any, Any, None]]:
    """The dependency that claims (or replays) the request's `Idempotency-Key`."""

    async def idempotency_key(
        request: Request,
        session: SessionDep,
        principal: Annotated[Principal, Depends(current_principal)],
        key: IdempotencyKeyHeader = None,
    ) -> None:
        if key is None:
            return
        body = await request.body()
        digest = hashlib.sha256(body).hexdigest()
        method, path = request.method, request.url.path
        t = table
        where = (t.c.actor == principal.name, t.c.key == key)
        row = (await session.execute(select(t).where(*where))).first()
        if row is None:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            stmt = (
                insert(t)
                .values(
                    actor=principal.name,
                    key=key,
                    method=method,
                    path=path[:500],
                    request_hash=digest,
                    status_code=0,
                    response_headers={},
                    response_body=b"",
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing()
                .returning(t.c.key)
            )
            if (await session.execute(stmt)).first() is not None:
                setattr(request.state, _STATE_KEY, _Pending(session, t, principal.name, key))
                return
            # Lost a race: the winner committed meanwhile (we waited on its row).
            row = (await session.execute(select(t).where(*where))).first()
            if row is None:
                raise IdempotencyInProgress(
                    f"A request with {HEADER} {key!r} is being processed; retry shortly.",
                    headers={"Retry-After": "1"},
                )
        if row.request_hash != digest or row.method != method or row.path != path[:500]:
            raise IdempotencyKeyReused(
                f"{HEADER} {key!r} was already used for a different request "
                f"({row.method} {row.path} with another body); use a new key.",
                errors=[{"loc": ["header", HEADER], "msg": "key reused with a different request"}],
            )
        if row.status_code == 0:
            raise IdempotencyInProgress(
                f"A request with {HEADER} {key!r} is being processed; retry shortly.",
                headers={"Retry-After": "1"},
            )
        raise IdempotentReplay(_replay(row))

    return idempotency_key


def idempotent_route_class(table: Table) -> type[APIRoute]:
    """An `APIRoute` class whose POST routes honour `Idempotency-Key`, stored in `table`
    (columns: actor, key, method, path, request_hash, status_code, response_headers,
    response_body, created_at; primary key (actor, key))."""
    dependency = claim_dependency(table)
    extra_responses = error_responses(IdempotencyKeyReused, IdempotencyInProgress)

    class IdempotentRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            methods = {m.upper() for m in (kwargs.get("methods") or ())}
            if "POST" in methods:
                deps = list(kwargs.get("dependencies") or [])
                if not any(
                    isinstance(d, DependsParam) and d.dependency is dependency for d in deps
                ):
                    deps.append(Depends(dependency))
                kwargs["dependencies"] = deps
                responses = dict(kwargs.get("responses") or {})
                for status, spec in extra_responses.items():
                    responses.setdefault(status, spec)
                kwargs["responses"] = responses
            super().__init__(path, endpoint, **kwargs)

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    response = await original(request)
                except IdempotentReplay as replay:
                    return replay.response
                pending: _Pending | None = getattr(request.state, _STATE_KEY, None)
                if pending is not None:
                    # Still inside the request's unit of work: it commits after this.
                    await pending.finish(response)
                return response

            return handler

    return IdempotentRoute
