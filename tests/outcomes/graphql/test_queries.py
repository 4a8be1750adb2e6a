"""Outcomes GraphQL reads through the real app: shapes, filters, pagination, as-of."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert, update

from outcomes.models import Change, Epic, Kpi, Measurement, Score
from tests.conftest import KEYS
from tests.outcomes.builders import make_epic
from tests.outcomes.graphql.helpers import app_of, count_statements, gql, gql_errors
from tests.outcomes.graphql.seed import seed


async def test_epic_graph_and_filters(gql_client: httpx.AsyncClient) -> None:
    engine = app_of(gql_client).state.db.engine
    await seed(engine, epics=12, kpis=3, months=6)
    data = await gql(
        gql_client,
        """{ epics(filter: {stream: Revenue, team: "TEAM-0"}) { totalCount edges { node {
               key streams team status plannedCost { amount currency }
               contributions { edges { node { expectedUplift kpi { slug } epic { key } } } }
               kpis { totalCount edges { node { slug stream cadence
                 measurements(from: "2023-02", to: "2023-04") { totalCount
                   edges { node { period segment value kpi { slug } } } }
                 epics { totalCount edges { node { key } } } } } }
               measurements(first: 2, segment: "all") {
                 totalCount edges { node { period kpi { slug } } } }
             } } } }""",
    )
    epics = data["epics"]
    # Revenue = every 2nd epic; team-0 = every 7th: EP-0 only (case-insensitive team).
    assert epics["totalCount"] == 1
    node = epics["edges"][0]["node"]
    assert node["key"] == "EP-0"
    assert node["plannedCost"] == {"amount": "100000.00", "currency": "USD"}
    assert node["contributions"]["edges"][0]["node"] == {
        "expectedUplift": "0.5",
        "kpi": {"slug": "kpi-0"},
        "epic": {"key": "EP-0"},
    }
    kpi = node["kpis"]["edges"][0]["node"]
    assert kpi["slug"] == "kpi-0" and node["kpis"]["totalCount"] == 2
    ms = kpi["measurements"]
    assert ms["totalCount"] == 3
    assert [e["node"]["period"] for e in ms["edges"]] == ["2023-02", "2023-03", "2023-04"]
    assert ms["edges"][0]["node"]["value"] == "2.1"
    assert ms["edges"][0]["node"]["kpi"] == {"slug": "kpi-0"}
    # The epic's measurements: both KPIs' values (6 months each), KPI by KPI.
    assert node["measurements"]["totalCount"] == 12
    assert [
        (e["node"]["kpi"]["slug"], e["node"]["period"]) for e in node["measurements"]["edges"]
    ] == [
        ("kpi-0", "2023-01"),
        ("kpi-0", "2023-02"),
    ]
    # 2 KPIs per epic over 3 KPIs round-robin: kpi-0 is linked to 8 of the 12 epics.
    assert kpi["epics"]["totalCount"] == 8

    by_q = await gql(gql_client, '{ epics(filter: {q: "ep-1"}) { totalCount } }')
    assert by_q["epics"]["totalCount"] == 3  # EP-1, EP-10, EP-11
    by_kpi = await gql(gql_client, '{ epics(filter: {kpi: "kpi-1"}) { totalCount } }')
    assert by_kpi["epics"]["totalCount"] == 8


async def test_epic_by_ref_kpi_by_slug_and_archived(gql_client: httpx.AsyncClient) -> None:
    created = await make_epic(gql_client, title="Checkout offers", streams=["cx"])
    q = "query($r: String!) { epic(ref: $r) { id key title streams version createdAt } }"
    by_key = await gql(gql_client, q, r=created["key"])
    by_id = await gql(gql_client, q, r=created["id"])
    assert by_key == by_id
    assert by_key["epic"]["streams"] == ["CX"]
    assert by_key["epic"]["createdAt"].endswith("Z")
    assert (await gql(gql_client, q, r="NOPE-1"))["epic"] is None
    r = await gql_client.delete(f"/v1/epics/{created['key']}")
    assert r.status_code == 204
    listed = await gql(gql_client, "{ epics { totalCount } }")
    assert listed["epics"]["totalCount"] == 0
    archived = await gql(
        gql_client, "{ epics(filter: {includeArchived: true}) { edges { node { status } } } }"
    )
    assert archived["epics"]["edges"][0]["node"]["status"] == "archived"
    assert (await gql(gql_client, q, r=created["key"]))["epic"]["key"] == created["key"]
    assert (await gql(gql_client, '{ kpi(slug: "none") { slug } }'))["kpi"] is None


async def test_pagination_and_first_limit(gql_client: httpx.AsyncClient) -> None:
    await seed(app_of(gql_client).state.db.engine, epics=7, kpis=1, months=1)
    q = """query($a: String) { epics(first: 3, after: $a) { totalCount
             edges { node { key } cursor } pageInfo { hasNextPage endCursor } } }"""
    keys: list[str] = []
    after = None
    for _ in range(3):
        page = (await gql(gql_client, q, a=after))["epics"]
        assert page["totalCount"] == 7
        keys += [e["node"]["key"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert keys == [f"EP-{i}" for i in range(7)]
    errors = await gql_errors(gql_client, "{ epics(first: 501) { totalCount } }")
    assert "first" in errors[0]["message"]
    errors = await gql_errors(gql_client, '{ epics(after: "bogus") { totalCount } }')
    assert "cursor" in errors[0]["message"]
    errors = await gql_errors(
        gql_client, "{ kpis { edges { node { measurements(last: 501) { totalCount } } } } }"
    )
    assert "last" in errors[0]["message"]


async def test_measurements_as_of_segment_latest(gql_client: httpx.AsyncClient) -> None:
    engine = app_of(gql_client).state.db.engine
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    t1 = datetime(2026, 2, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Kpi).values(
                slug="conv",
                name="Conversion",
                unit="percent",
                direction="increase",
                cadence="monthly",
                owners=[],
                version=1,
                created_at=t0,
                updated_at=t0,
            )
        )
        pk = (await conn.execute(Kpi.__table__.select())).first().pk  # type: ignore[union-attr]
        rows = [
            ("2026-01", "all", "2.1", 1, t0, t1),
            ("2026-01", "all", "2.4", 2, t1, None),  # a correction
            ("2026-01", "treatment", "3.0", 1, t0, None),
            ("2026-02", "all", "2.6", 1, t1, None),
        ]
        await conn.execute(
            insert(Measurement),
            [
                {
                    "kpi_pk": pk,
                    "period": p,
                    "segment": s,
                    "value": v,
                    "version": n,
                    "recorded_at": at,
                    "superseded_at": sup,
                }
                for p, s, v, n, at, sup in rows
            ],
        )
    q = """query($at: DateTime, $seg: String) { kpi(slug: "conv") {
             measurements(asOf: $at, segment: $seg) {
               edges { node { period segment value version } } }
             latestMeasurement(asOf: $at) { period value } } }"""
    now = (await gql(gql_client, q))["kpi"]
    assert [
        (e["node"]["period"], e["node"]["segment"], e["node"]["value"])
        for e in now["measurements"]["edges"]
    ] == [("2026-01", "all", "2.4"), ("2026-01", "treatment", "3"), ("2026-02", "all", "2.6")]
    assert now["latestMeasurement"] == {"period": "2026-02", "value": "2.6"}
    then = (await gql(gql_client, q, at="2026-01-15T00:00:00Z", seg="all"))["kpi"]
    assert [e["node"]["value"] for e in then["measurements"]["edges"]] == ["2.1"]
    assert then["latestMeasurement"] == {"period": "2026-01", "value": "2.1"}
    bad = await gql_errors(
        gql_client, '{ kpi(slug: "conv") { measurements(from: "2026-13") { totalCount } } }'
    )
    assert "period" in bad[0]["message"]


async def test_decisions_scores_changes(gql_client: httpx.AsyncClient) -> None:
    engine = app_of(gql_client).state.db.engine
    await seed(engine, epics=3, kpis=1, months=1, decisions_per_epic=2)
    async with engine.begin() as conn:
        epic_pk = (await conn.execute(Epic.__table__.select().where(Epic.key == "EP-1"))).first().pk  # type: ignore[union-attr]
        await conn.execute(
            insert(Score).values(
                id="s1",
                epic_pk=epic_pk,
                period="2026-Q1",
                outcome_potential=4,
                time_to_value=3,
                risk=2,
                total=9,
                created_at=datetime(2026, 1, 2, tzinfo=UTC),
            )
        )
        await conn.execute(update(Epic).where(Epic.pk == epic_pk).values(title="Renamed"))
    data = await gql(
        gql_client,
        """{ decisions(epic: "EP-1") {
               totalCount edges { node { decision decidedOn epic { title } } } }
             scores(period: "2026-Q1") { edges { node { total epic { key } } } }
             epic(ref: "EP-1") {
               latestDecision { decidedOn } decisions(last: 1) { totalCount } } }""",
    )
    assert data["decisions"]["totalCount"] == 2
    assert data["decisions"]["edges"][0]["node"]["epic"] == {"title": "Renamed"}
    assert data["scores"]["edges"][0]["node"] == {"total": 9, "epic": {"key": "EP-1"}}
    assert data["epic"]["latestDecision"] == {"decidedOn": "2025-06-02"}
    assert data["epic"]["decisions"]["totalCount"] == 2

    await make_epic(gql_client, key="CH-1", title="Logged")
    await make_epic(gql_client, key="CH-2", title="Logged too")
    changes = await gql(
        gql_client,
        """{ changes(first: 1) { totalCount edges { cursor node { seq entity action data } }
               pageInfo { hasNextPage endCursor } } }""",
    )
    page = changes["changes"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"] is True
    first = page["edges"][0]
    assert first["cursor"] == str(first["node"]["seq"])
    assert first["node"]["data"]["key"] == "CH-1"
    rest = await gql(
        gql_client,
        "query($a: String) { changes(after: $a) { edges { node { data } } } }",
        a=page["pageInfo"]["endCursor"],
    )
    assert [e["node"]["data"]["key"] for e in rest["changes"]["edges"]] == ["CH-2"]
    assert await _count_changes(gql_client) == 2


async def _count_changes(client: httpx.AsyncClient) -> int:
    from sqlalchemy import func, select

    async with app_of(client).state.db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Change))).scalar_one())


async def test_auth(gql_client: httpx.AsyncClient) -> None:
    r = await gql_client.post(
        "/graphql", json={"query": "{ epics { totalCount } }"}, headers={"Authorization": ""}
    )
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await gql_client.post(
        "/graphql",
        json={"query": "{ epics { totalCount } }"},
        headers={"Authorization": f"Bearer {KEYS['read']}"},
    )
    assert r.status_code == 200 and r.json()["data"]["epics"]["totalCount"] == 0


async def test_epic_columns_follow_the_selection(gql_client: httpx.AsyncClient) -> None:
    """The root list reads only the columns the selected fields need; each field's value
    is the same as when every field is selected (or reached through a fragment)."""
    engine = app_of(gql_client).state.db.engine
    await seed(engine, epics=6, kpis=2, months=2)
    full = """fragment E on Epic { id key title streams status team plannedCost { amount currency }
                                   hypothesis { statement } labels createdAt }
              { epics(first: 6) { edges { node { ...E } } } }"""
    everything = [e["node"] for e in (await gql(gql_client, full))["epics"]["edges"]]
    for fields in ("key", "key team", "key plannedCost { amount currency }", "title labels"):
        data = await gql(gql_client, f"{{ epics(first: 6) {{ edges {{ node {{ {fields} }} }} }} }}")
        got = [e["node"] for e in data["epics"]["edges"]]
        assert got == [{k: node[k] for k in got[0]} for node in everything], fields
    assert everything[0]["plannedCost"] is not None and everything[0]["streams"]
    with count_statements(app_of(gql_client)) as counter:
        await gql(gql_client, "{ epics(first: 2) { edges { node { key } } } }")
    page = next(s for s in counter.statements if "FROM epics" in s)
    assert "NULL AS hypothesis" in page and "NULL AS key" not in page, page


async def test_nested_pages_agree_with_the_whole_list(gql_client: httpx.AsyncClient) -> None:
    """Nested connections paged with `first`/`after` and `last` (one statement for all
    parents: windowed on SQLite, LATERAL on PostgreSQL) give the same items, cursors and
    totals as the whole list, for every parent of the level."""
    await seed(app_of(gql_client).state.db.engine, epics=6, kpis=4, months=9, kpis_per_epic=3)
    whole_q = """{ kpis { edges { node { slug
                   measurements(first: 500) { totalCount edges { cursor node { period segment } } }
                   epics(first: 500) { totalCount edges { cursor node { key } } } } } } }"""
    whole = {
        e["node"]["slug"]: e["node"] for e in (await gql(gql_client, whole_q))["kpis"]["edges"]
    }
    assert len(whole) == 4 and all(k["measurements"]["totalCount"] == 9 for k in whole.values())

    def items(conn: dict[str, Any], field: str) -> list[tuple[str, Any]]:
        return [(e["cursor"], e["node"][field]) for e in conn["edges"]]

    # the last 4 of each KPI: the tail of the whole list, same cursors, same total
    last_q = """{ kpis { edges { node { slug measurements(last: 4) { totalCount
                  pageInfo { hasNextPage endCursor } edges { cursor node { period } } } } } } }"""
    for edge in (await gql(gql_client, last_q))["kpis"]["edges"]:
        node = edge["node"]
        ms = node["measurements"]
        assert ms["totalCount"] == 9
        assert items(ms, "period") == items(whole[node["slug"]]["measurements"], "period")[-4:]
        assert ms["pageInfo"] == {"hasNextPage": False, "endCursor": ms["edges"][-1]["cursor"]}
    zero_q = "{ kpis { edges { node { measurements(last: 0) { totalCount edges { cursor } } } } } }"
    for edge in (await gql(gql_client, zero_q))["kpis"]["edges"]:
        assert edge["node"]["measurements"] == {"totalCount": 9, "edges": []}
    # pages of 2 after a cursor, for every KPI at once, until the end (and one past it:
    # an empty page still has the right totalCount)
    page_q = """query($a: String) { kpis { edges { node { slug
                  measurements(first: 2, after: $a) { totalCount pageInfo { hasNextPage }
                    edges { cursor node { period } } }
                  epics(first: 2, after: $a) { totalCount pageInfo { hasNextPage }
                    edges { cursor node { key } } } } } } }"""
    got: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    after: str | None = None
    for _ in range(6):
        data = await gql(gql_client, page_q, a=after)
        cursors = []
        for edge in data["kpis"]["edges"]:
            node = edge["node"]
            for field, leaf in (("measurements", "period"), ("epics", "key")):
                conn = node[field]
                assert conn["totalCount"] == whole[node["slug"]][field]["totalCount"]
                got.setdefault((node["slug"], field), []).extend(items(conn, leaf))
                cursors += [c for c, _ in items(conn, leaf)]
        if not cursors:
            break
        # every parent paged with the same `after` (one statement per level), so use the
        # offset cursor of the second item: all lists advance by 2
        after = data["kpis"]["edges"][0]["node"]["measurements"]["edges"][-1]["cursor"]
    for (slug, field), found in got.items():
        leaf = "period" if field == "measurements" else "key"
        assert found == items(whole[slug][field], leaf), (slug, field)
