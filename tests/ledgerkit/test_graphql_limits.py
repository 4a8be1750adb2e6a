"""The shared GraphQL plumbing on a real app: auth, limits, errors — never a 500."""

from __future__ import annotations

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter

from ledgerkit.graphql import (
    Connection,
    connection_from_slice,
    decode_offset,
    graphql_router,
    schema_extensions,
)
from ledgerkit.testing import app_client
from tests.conftest import KEYS


@strawberry.type
class Node:
    n: int

    @strawberry.field
    def children(self, first: int = 50) -> list[Node]:
        return [Node(n=i) for i in range(min(first, 3))]


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self, first: int = 10, after: str | None = None) -> Connection[Node]:
        offset = decode_offset(after)
        rows = [Node(n=i) for i in range(offset, min(offset + first + 1, 7))]
        return connection_from_slice(rows, offset=offset, first=first, total=7)

    @strawberry.field
    def boom(self) -> int:
        raise RuntimeError("internal detail")


def _app(outcomes_settings, introspection: bool = True) -> FastAPI:  # type: ignore[no-untyped-def]
    from outcomes.app import create_app

    app = create_app(outcomes_settings)
    # Replace the service's own /graphql with this test schema.
    app.router.routes[:] = [
        r
        for r in app.router.routes
        if not isinstance(getattr(r, "original_router", None), GraphQLRouter)
        and getattr(r, "path", "") != "/graphql"
    ]
    schema = strawberry.Schema(
        query=Query,
        extensions=schema_extensions(
            introspection=introspection, max_cost=1000, list_fields=frozenset({"children"})
        ),
    )
    app.include_router(graphql_router(schema, graphiql=False))
    return app


async def _q(c, query: str, **variables):  # type: ignore[no-untyped-def]
    r = await c.post("/graphql", json={"query": query, "variables": variables or None})
    assert r.status_code in (200, 400), r.text
    return r.json()


async def test_auth_and_pagination(outcomes_settings) -> None:  # type: ignore[no-untyped-def]
    app = _app(outcomes_settings)
    async with app_client(app) as anon:
        r = await anon.post("/graphql", json={"query": "{ nodes { totalCount } }"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
    async with app_client(app, key=KEYS["read"]) as c:
        body = await _q(
            c,
            "{ nodes(first: 5) { totalCount edges { node { n } cursor } "
            "pageInfo { hasNextPage endCursor } } }",
        )
        page = body["data"]["nodes"]
        assert [e["node"]["n"] for e in page["edges"]] == [0, 1, 2, 3, 4]
        assert page["pageInfo"]["hasNextPage"] is True
        after = page["pageInfo"]["endCursor"]
        body = await _q(
            c,
            "query($a: String) { nodes(first: 5, after: $a) { edges { node { n } }"
            " pageInfo { hasNextPage } } }",
            a=after,
        )
        assert [e["node"]["n"] for e in body["data"]["nodes"]["edges"]] == [5, 6]
        assert body["data"]["nodes"]["pageInfo"]["hasNextPage"] is False


async def test_limits_and_errors(outcomes_settings) -> None:  # type: ignore[no-untyped-def]
    async with app_client(_app(outcomes_settings, introspection=False), key=KEYS["read"]) as c:
        deep = (
            "{ nodes { edges { node { "
            + "children(first: 1) { " * 11
            + "n"
            + " }" * 11
            + " } } } }"
        )
        body = await _q(c, deep)
        assert "depth" in body["errors"][0]["message"]
        aliases = "{ " + " ".join(f"a{i}: nodes {{ totalCount }}" for i in range(31)) + " }"
        assert "aliases" in (await _q(c, aliases))["errors"][0]["message"].lower()
        costly = "{ nodes(first: 100) { edges { node { children(first: 50) { n } } } } }"
        assert "cost" in (await _q(c, costly))["errors"][0]["message"]
        huge = "{ nodes { totalCount } }" + " " * 21_000
        assert "limit" in (await _q(c, huge))["errors"][0]["message"]
        assert (await _q(c, "{ nodes { "))["errors"][0]["message"].startswith("Syntax Error")
        assert (await _q(c, "{ boom }"))["errors"][0]["message"] == "Internal server error"
        intro = await _q(c, "{ __schema { types { name } } }")
        assert "introspection" in intro["errors"][0]["message"].lower()
        bad_cursor = await _q(c, '{ nodes(after: "zzz") { totalCount } }')
        assert "cursor" in bad_cursor["errors"][0]["message"]
