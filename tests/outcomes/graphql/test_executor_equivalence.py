"""The fast execution path (`ledgerkit.graphql_executor`) answers exactly what graphql-core
answers: the same schema executed both ways over the same data gives equal data, equal
errors (message and path) — nested lists, shared objects, aliases, fragments, nulls,
`__typename`, variables, and errors inside a nested field."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig

from ledgerkit.auth import Principal
from ledgerkit.graphql import GraphQLContext
from ledgerkit.graphql_scalars import SCALARS
from outcomes.graphql.mutations import Mutation
from outcomes.graphql.schema import Query, build_schema
from tests.outcomes.graphql.helpers import app_of
from tests.outcomes.graphql.seed import seed

QUERIES: list[tuple[str, dict[str, Any]]] = [
    (
        """query($first: Int!) { epics(filter: {stream: Revenue}, first: $first) {
             totalCount pageInfo { hasNextPage endCursor }
             edges { cursor node { __typename id key title status team streams labels
               plannedCost { amount currency } startDate createdAt hypothesis { statement }
               contributions { edges { node { claimedShare expectedUplift
                 kpi { slug name unit direction baseline { value asOf } target { value due }
                   valuePerUnit { amount currency per }
                   measurements(segment: "all", last: 12) { totalCount
                     edges { cursor node { period value segment version } } }
                   latestMeasurement { period value } } } } }
               decisions(last: 1) { edges { node { decision decidedOn } } }
               scores(first: 2) { totalCount edges { node { total } } }
               kpis(first: 1) { pageInfo { hasNextPage } edges { node { slug } } }
               latestDecision { decision } } } } }""",
        {"first": 40},
    ),
    (
        """fragment K on Kpi { slug owners cadence }
           { kpis(first: 5) { edges { node { ...K again: slug __typename
               epics(first: 3) { totalCount
                 edges { node { key kpis { edges { node { ...K } } } } } }
               measurements(from: "2023-03", to: "2023-05") { edges { node { period value
                 kpi { slug } } } } } } }
             one: epic(ref: "EP-1") { key measurements(first: 3) { edges { node { period } } } }
             none: epic(ref: "nope") { key } }""",
        {},
    ),
    (
        # An error inside a nested field: the error at its path.
        """{ epics(first: 3) { edges { node { key
               contributions(after: "bad-cursor") { totalCount } } } } }""",
        {},
    ),
    ("{ decisions(first: 4) { edges { node { id decision epic { key } } } } }", {}),
    (
        # Loaders read only the columns a selection shows (`store.contribution_columns`):
        # other selections of the same lists, and fragments (every column), still agree.
        """fragment M on Measurement { source recordedAt }
           { epics(first: 6) { edges { node { key
               a: contributions { edges { node { version createdAt updatedAt expectedBy
                 kpi { slug measurements(last: 2) { edges { node { ...M period } } } } } } }
               b: contributions { edges { node { claimedShare
                 kpi { measurements(last: 2) { edges { node { value version } } } } } } }
               kpis { totalCount edges { node { slug } } } } } } }""",
        {},
    ),
    (
        # Connections printed straight from rows (`ledgerkit.graphql_leaf`): aliases,
        # pageInfo, cursors, `first`, `last`, an empty page.
        """{ kpis(first: 3) { edges { node { slug
               m: measurements(first: 2) { count: totalCount
                 info: pageInfo { more: hasNextPage end: endCursor }
                 list: edges { c: cursor n: node { p: period v: value s: source seg: segment } } }
               tail: measurements(last: 3) { pageInfo { endCursor hasNextPage }
                 edges { node { period version } cursor } }
               none: measurements(from: "2099-01") { totalCount
                 pageInfo { hasNextPage endCursor } edges { node { period } } } } } } }""",
        {},
    ),
    (
        # A batch resolver (`ledgerkit.graphql_many`) refusing its arguments: the error at
        # each object's path, as graphql-core gives it.
        """{ kpis(first: 2) { edges { node { slug
               measurements(last: 501) { totalCount } } } } }""",
        {},
    ),
]


def _plain_schema() -> strawberry.Schema:
    """The outcomes schema on graphql-core's own execution (no fast path)."""
    return strawberry.federation.Schema(
        query=Query, mutation=Mutation, config=StrawberryConfig(scalar_map=SCALARS)
    )


async def _run(schema: strawberry.Schema, app: Any, query: str, variables: dict[str, Any]) -> Any:
    context = GraphQLContext(
        principal=Principal(name="test", scopes=frozenset({"read"})), db=app.state.db
    )
    try:
        result = await schema.execute(query, variable_values=variables, context_value=context)
    finally:
        await context.close_reads()
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("index", range(len(QUERIES)))
async def test_fast_path_answers_like_graphql_core(
    gql_client: httpx.AsyncClient, outcomes_settings: Any, index: int
) -> None:
    app = app_of(gql_client)
    await seed(app.state.db.engine, epics=60, kpis=7, months=14, kpis_per_epic=3)
    query, variables = QUERIES[index]
    fast = await _run(build_schema(outcomes_settings), app, query, variables)
    plain = await _run(_plain_schema(), app, query, variables)
    assert fast == plain
    # Over HTTP the fast path may hand shared objects over pre-encoded (orjson fragments):
    # the JSON answer is the same.
    r = await gql_client.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == orjson.loads(orjson.dumps(plain[0]))
    data, errors = fast
    if index == 2:  # the error nulls its non-null parents up to the root, both ways
        assert errors and errors[0][1][:3] == ("epics", "edges", 0)
    elif index == 6:  # the argument error at the field's path, both ways
        assert errors and errors[0][1][-1] == "measurements"
        assert "`last` must be between 0 and 500" in errors[0][0]
    else:
        assert data is not None and not errors
