"""No N+1: the statements a nested query sends do not grow with the rows it returns."""

from __future__ import annotations

import httpx

from tests.outcomes.graphql.helpers import app_of, count_statements, gql
from tests.outcomes.graphql.seed import seed

BI_QUERY = """
query($n: Int!) {
  epics(filter: {stream: Revenue}, first: $n) {
    totalCount
    edges { node {
      key title streams team plannedCost { amount currency }
      kpis { edges { node {
        slug unit
        latestMeasurement { period value }
        measurements(last: 12) { totalCount edges { node { period value } } }
      } } }
      decisions { totalCount edges { node { decision decidedOn } } }
      latestDecision { decision }
    } }
  }
}
"""


async def _statements_for(client: httpx.AsyncClient, n: int) -> tuple[int, list[str]]:
    app = app_of(client)
    with count_statements(app) as counter:
        data = await gql(client, BI_QUERY, n=n)
    edges = data["epics"]["edges"]
    assert len(edges) == n
    for edge in edges:
        node = edge["node"]
        assert node["streams"] == ["Revenue"]
        assert len(node["kpis"]["edges"]) == 2
        for k in node["kpis"]["edges"]:
            ms = k["node"]["measurements"]
            assert ms["totalCount"] == 36
            assert [m["node"]["period"] for m in ms["edges"]] == [
                f"2025-{i:02d}" for i in range(1, 13)
            ]
            assert k["node"]["latestMeasurement"]["period"] == "2025-12"
        assert node["decisions"]["totalCount"] == 1
    return counter.count, counter.statements


async def test_statement_count_is_constant(gql_client: httpx.AsyncClient) -> None:
    await seed(app_of(gql_client).state.db.engine, epics=1200, kpis=200)
    small, _ = await _statements_for(gql_client, 5)
    large, statements = await _statements_for(gql_client, 500)
    assert small == large, statements
    # the data version (answer cache), page + count, contributions, their KPIs (once each),
    # measurements (last 12 and latest), decisions (all and latest): one statement per loader
    # per level, whatever the number of rows.
    assert large <= 10, statements
