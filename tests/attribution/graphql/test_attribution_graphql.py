"""Attribution GraphQL through the real app: rule sets with versions, runs, lines, benefits,
flat facts, limits, federation stubs; constant statements for nested versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, insert

from attribution.models import AttributionRun, BenefitLine, ReplicaKpi, RuleSet, RuleSetVersion
from ledgerkit.testing import app_client
from tests.conftest import KEYS

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _app(client: httpx.AsyncClient) -> Any:
    return client._transport.app  # type: ignore[attr-defined]


async def _q(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    r = await client.post("/graphql", json={"query": query, "variables": variables or None})
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body.get("errors"), body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def _errors(client: httpx.AsyncClient, query: str) -> list[Any]:
    r = await client.post("/graphql", json={"query": query})
    assert r.status_code in (200, 400), r.text
    errors: list[Any] = r.json()["errors"]
    return errors


def _run(
    run_id: str, ruleset: str, status: str, created: datetime, epics: list[str]
) -> dict[str, Any]:
    money = {"amount": "300.00", "currency": "USD"}
    return {
        "id": run_id,
        "ruleset_id": ruleset,
        "ruleset_version": 1,
        "status": status,
        "content_hash": "c" * 64,
        "input_hash": "i" * 64,
        "lines_hash": "l" * 64,
        "period_from": "2026-01",
        "period_to": "2026-02",
        "as_of": created,
        "currency": "USD",
        "replica_after": 10,
        "created_by": "env:fin",
        "created_at": created,
        "timings": {},
        "totals": {
            "benefit": money,
            "unattributed": {"amount": "0.00", "currency": "USD"},
            "lines": 4,
            "gaps": 0,
            "by_stream": [{"stream": "Revenue", "benefit": money}],
        },
        "gaps": [],
        "warnings": [],
        "unattributed": [],
        "rules": {},
        "snapshot": b"",
        "epics": [
            {
                "epic_id": f"id-{k}",
                "epic": k,
                "title": f"Title {k}",
                "team": "Payments",
                "streams": ["Revenue"],
                "currency": "USD",
                "realized": "150.00",
                "run_rate": "900.00",
                "latest_period": "2026-02",
                "planned_cost": "1000.00",
                "payback_period": None,
                "kpis": [
                    {
                        "kpi": "conv",
                        "realized": "150.00",
                        "run_rate": "900.00",
                        "latest_period": "2026-02",
                    }
                ],
            }
            for k in epics
        ],
    }


async def _seed(client: httpx.AsyncClient, rulesets: int = 1) -> None:
    async with _app(client).state.db.engine.begin() as conn:
        for n in range(rulesets):
            rs = f"rs{n}"
            await conn.execute(
                insert(RuleSet).values(
                    id=rs, name=f"Rules {n}", created_by="env:fin", created_at=T0, updated_at=T0
                )
            )
            await conn.execute(
                insert(RuleSetVersion),
                [
                    {
                        "ruleset_id": rs,
                        "number": v,
                        "status": s,
                        "effective_from": "2026-01",
                        "rules": {"v": v},
                        "content_hash": "h" * 64,
                        "created_by": "env:fin",
                        "created_at": T0,
                        "updated_at": T0,
                    }
                    for v, s in ((1, "agreed"), (2, "draft"))
                ],
            )
            await conn.execute(
                insert(AttributionRun),
                [
                    _run(f"old{n}", rs, "official", T0, ["PAY-1"]),
                    _run(f"run{n}", rs, "official", T0 + timedelta(days=1), ["PAY-1", "PAY-2"]),
                    _run(f"pre{n}", rs, "preview", T0 + timedelta(days=2), ["PAY-1"]),
                ],
            )
            lines = []
            for seq, (epic, period) in enumerate(
                [
                    ("PAY-1", "2026-01"),
                    ("PAY-1", "2026-02"),
                    ("PAY-2", "2026-01"),
                    ("PAY-2", "2026-02"),
                ],
                start=1,
            ):
                lines.append(
                    {
                        "run_id": f"run{n}",
                        "seq": seq,
                        "epic_id": f"id-{epic}",
                        "epic_key": epic,
                        "kpi": "conv",
                        "stream": "Revenue",
                        "period": period,
                        "uplift": "0.5",
                        "share": "0.5",
                        "ramp": "1",
                        "period_value": "150",
                        "benefit": "75.00",
                        "cumulative": "75.00",
                        "currency": "USD",
                    }
                )
            await conn.execute(insert(BenefitLine), lines)
        await conn.execute(
            insert(ReplicaKpi).values(
                seq=1,
                slug="conv",
                name="Conversion",
                stream="Revenue",
                unit="percent",
                direction="increase",
                cadence="monthly",
                recorded_at=T0,
            )
        )


async def test_rulesets_runs_lines(attribution_client: httpx.AsyncClient) -> None:
    await _seed(attribution_client)
    data = await _q(
        attribution_client,
        """{
      ruleSets { totalCount edges { node { id name
        versions { totalCount edges { node { version status effectiveFrom rules } } }
        latestAgreed { version } } } }
      ruleSet(id: "Rules 0") { id }
      runs(status: "official") { totalCount edges { node { id from to status
        totals { benefit { amount currency } lines byStream { stream benefit { amount } } }
        ruleSet { name } } } }
      run(id: "run0") { asOf createdAt }
    }""",
    )
    rs = data["ruleSets"]["edges"][0]["node"]
    assert rs["versions"]["totalCount"] == 2
    assert [e["node"]["status"] for e in rs["versions"]["edges"]] == ["agreed", "draft"]
    assert rs["latestAgreed"] == {"version": 1}
    assert data["ruleSet"] == {"id": "rs0"}
    runs = data["runs"]
    assert runs["totalCount"] == 2
    newest = runs["edges"][0]["node"]
    assert newest["id"] == "run0" and newest["from"] == "2026-01"
    assert newest["totals"]["benefit"] == {"amount": "300.00", "currency": "USD"}
    assert newest["ruleSet"] == {"name": "Rules 0"}
    assert data["run"]["asOf"].endswith("Z")

    lines = await _q(
        attribution_client,
        """{ benefitLines(filter: {epic: "PAY-2"}) {
      totalCount edges { node { run seq epic kpi period share benefit { amount currency }
        epicEntity { id } kpiEntity { slug } } } } }""",
    )
    page = lines["benefitLines"]
    assert page["totalCount"] == 2
    assert page["edges"][0]["node"] == {
        "run": "run0",
        "seq": 3,
        "epic": "PAY-2",
        "kpi": "conv",
        "period": "2026-01",
        "share": "0.5",
        "benefit": {"amount": "75.00", "currency": "USD"},
        "epicEntity": {"id": "id-PAY-2"},
        "kpiEntity": {"slug": "conv"},
    }


async def test_benefits_and_facts(attribution_client: httpx.AsyncClient) -> None:
    await _seed(attribution_client)
    data = await _q(
        attribution_client,
        """{ benefits(filter: {team: "Payments"}) {
      totalCount edges { node { epic title run realized { amount } runRate { amount }
        kpis { kpi realized { amount } } } } } }""",
    )
    assert [e["node"]["epic"] for e in data["benefits"]["edges"]] == ["PAY-1", "PAY-2"]
    assert data["benefits"]["edges"][0]["node"]["run"] == "run0"
    assert data["benefits"]["edges"][0]["node"]["realized"] == {"amount": "150.00"}

    q = """query($a: String) {
      benefitFacts(from: "2026-02", stream: "Revenue", first: 1, after: $a) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { runId ruleSet ruleVersion epicKey epicTitle team streams stream kpi kpiName
        unit period uplift share benefit cumulative currency } } } }"""
    first = (await _q(attribution_client, q))["benefitFacts"]
    assert first["totalCount"] == 2 and first["pageInfo"]["hasNextPage"] is True
    assert first["edges"][0]["node"] == {
        "runId": "run0",
        "ruleSet": "rs0",
        "ruleVersion": 1,
        "epicKey": "PAY-1",
        "epicTitle": "Title PAY-1",
        "team": "Payments",
        "streams": ["Revenue"],
        "stream": "Revenue",
        "kpi": "conv",
        "kpiName": "Conversion",
        "unit": "percent",
        "period": "2026-02",
        "uplift": "0.5",
        "share": "0.5",
        "benefit": "75.00",
        "cumulative": "75.00",
        "currency": "USD",
    }
    second = (await _q(attribution_client, q, a=first["pageInfo"]["endCursor"]))["benefitFacts"]
    assert [e["node"]["epicKey"] for e in second["edges"]] == ["PAY-2"]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_nested_versions_are_batched(attribution_client: httpx.AsyncClient) -> None:
    q = (
        "{ ruleSets(first: 50) { edges { node { versions { edges { node { version } } }"
        " latestAgreed { version } } } } }"
    )
    counts = []
    for n in (2, 6):
        await _seed(attribution_client, rulesets=n) if n == 2 else await _seed_more(
            attribution_client
        )
        statements: list[str] = []
        engine = _app(attribution_client).state.db.engine.sync_engine

        def count(
            conn: Any, cursor: Any, statement: str, *a: Any, seen: list[str] = statements
        ) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            await _q(attribution_client, q)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    assert counts[0] == counts[1] == 2, counts


async def _seed_more(client: httpx.AsyncClient) -> None:
    async with _app(client).state.db.engine.begin() as conn:
        for n in range(2, 6):
            await conn.execute(
                insert(RuleSet).values(
                    id=f"rs{n}",
                    name=f"Rules {n}",
                    created_by="env:fin",
                    created_at=T0,
                    updated_at=T0,
                )
            )
            await conn.execute(
                insert(RuleSetVersion).values(
                    ruleset_id=f"rs{n}",
                    number=1,
                    status="agreed",
                    effective_from="2026-01",
                    rules={},
                    content_hash="h" * 64,
                    created_by="env:fin",
                    created_at=T0,
                    updated_at=T0,
                )
            )


async def test_limits_federation_auth(attribution_settings) -> None:  # type: ignore[no-untyped-def]
    from attribution.app import create_app

    settings = attribution_settings.model_copy(update={"graphql_introspection": False})
    app = create_app(settings)
    async with app_client(app) as anon:
        r = await anon.post("/graphql", json={"query": "{ runs { totalCount } }"})
        assert r.status_code == 401
    async with app_client(app, key=KEYS["read"]) as c:
        sdl = (await _q(c, "{ _service { sdl } }"))["_service"]["sdl"]
        assert '@key(fields: "id", resolvable: false)' in sdl
        assert '@key(fields: "slug", resolvable: false)' in sdl
        assert (
            "introspection"
            in (await _errors(c, "{ __schema { types { name } } }"))[0]["message"].lower()
        )
        deep = "{ ruleSets { edges { node { versions { edges { node { version } } } } } } }"
        assert (await _q(c, deep))["ruleSets"]["edges"] == []
        # The deepest path this schema has (8 levels; no cycles, so the depth limit of 10
        # cannot be reached here — the outcomes tests cover it).
        deepest = (
            "{ runs { edges { node { ruleSet { versions { edges { node { rules } } } } } } } }"
        )
        await _q(c, deepest)
        aliases = "{ " + " ".join(f"a{i}: runs {{ totalCount }}" for i in range(31)) + " }"
        assert "aliases" in (await _errors(c, aliases))[0]["message"].lower()
        costly = (
            "{ ruleSets(first: 500) { edges { node { versions(first: 500) { edges { node {"
            " rules version status effectiveFrom contentHash } } } } } } }"
        )
        assert "cost" in (await _errors(c, costly))[0]["message"]
        assert (await _errors(c, "{ runs { "))[0]["message"].startswith("Syntax Error")
        huge = "{ runs { totalCount } }" + " " * 21_000
        assert "limit" in (await _errors(c, huge))[0]["message"]
        bad = await _errors(c, '{ benefitFacts(after: "xx") { totalCount } }')
        assert "cursor" in bad[0]["message"]
