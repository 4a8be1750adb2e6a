"""Limits (depth, aliases, cost, size, malformed, introspection) and federation on the
outcomes schema: each refusal is a GraphQL error, never a 500."""

from __future__ import annotations

import httpx

from ledgerkit.testing import app_client
from tests.conftest import KEYS
from tests.outcomes.builders import make_epic
from tests.outcomes.graphql.helpers import gql, gql_errors


async def test_limits(gql_client: httpx.AsyncClient) -> None:
    deep = (
        "{ epics { edges { node { kpis { edges { node { epics { edges { node { kpis { edges"
        " { node { slug } } } } } } } } } } } } }"
    )
    assert "depth" in (await gql_errors(gql_client, deep))[0]["message"]
    aliases = "{ " + " ".join(f"a{i}: epics {{ totalCount }}" for i in range(31)) + " }"
    assert "aliases" in (await gql_errors(gql_client, aliases))[0]["message"].lower()
    costly = (
        "{ epics(first: 500) { edges { node { kpis(first: 500) { edges { node {"
        " measurements(first: 500) { edges { node { value } } } } } } } } } }"
    )
    assert "cost" in (await gql_errors(gql_client, costly))[0]["message"]
    huge = "{ epics { totalCount } }" + " " * 21_000
    assert "limit" in (await gql_errors(gql_client, huge))[0]["message"]
    assert (await gql_errors(gql_client, "{ epics { "))[0]["message"].startswith("Syntax Error")
    unknown = await gql_errors(gql_client, "{ nope }")
    assert "nope" in unknown[0]["message"]
    r = await gql_client.post(
        "/graphql", content=b"not json", headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500
    r = await gql_client.post("/graphql", json={"query": 42})
    assert 400 <= r.status_code < 500
    # The BI query of the benchmark fits the budget.
    bi = """{ epics(filter: {stream: Revenue}, first: 500) { edges { node { key kpis { edges {
             node { slug measurements(last: 12) { edges { node { period value } } } } } } } } } }"""
    await gql(gql_client, bi)


async def test_introspection_off_by_setting(outcomes_settings) -> None:  # type: ignore[no-untyped-def]
    from outcomes.app import create_app

    settings = outcomes_settings.model_copy(
        update={"graphql_introspection": False, "outbound_interval": 0}
    )
    async with app_client(create_app(settings), key=KEYS["read"]) as c:
        errors = await gql_errors(c, "{ __schema { types { name } } }")
        assert "introspection" in errors[0]["message"].lower()
        assert (await gql(c, "{ epics { totalCount } }"))["epics"]["totalCount"] == 0


async def test_federation_sdl_and_entities(gql_client: httpx.AsyncClient) -> None:
    sdl = (await gql(gql_client, "{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type Epic @key(fields: "id")' in sdl
    assert 'type Kpi @key(fields: "slug")' in sdl
    assert "specs.apollo.dev/federation/v2" in sdl
    epic = await make_epic(gql_client, title="Federated")
    r = await gql(
        gql_client,
        """query($reps: [_Any!]!) { _entities(representations: $reps) {
             ... on Epic { key title } ... on Kpi { slug } } }""",
        reps=[{"__typename": "Epic", "id": epic["id"]}, {"__typename": "Kpi", "slug": "none"}],
    )
    assert r["_entities"][0] == {"key": epic["key"], "title": "Federated"}
    assert r["_entities"][1] is None
