"""GraphQL test helpers: post a query, count SQL statements on the app's engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event


def app_of(client: httpx.AsyncClient) -> FastAPI:
    """The FastAPI app behind an `app_client` (httpx ASGI transport)."""
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]
    return app


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST /graphql; asserts a 200 without errors and returns `data`."""
    r = await client.post("/graphql", json={"query": query, "variables": variables or None})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert not body.get("errors"), body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def gql_errors(client: httpx.AsyncClient, query: str, **variables: Any) -> list[Any]:
    """POST /graphql expecting GraphQL errors (HTTP 200 or 400, never 500)."""
    r = await client.post("/graphql", json={"query": query, "variables": variables or None})
    assert r.status_code in (200, 400), r.text
    errors: list[Any] = r.json()["errors"]
    assert errors
    return errors


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_statements(app: FastAPI) -> Iterator[StatementCounter]:
    """Every SQL statement the app's engine sends while the block runs."""
    counter = StatementCounter()
    engine = app.state.db.engine.sync_engine

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
