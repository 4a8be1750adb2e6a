"""Races over real HTTP against the outcomes service running as a real uvicorn process with
two worker processes (two event loops, two connection pools: true parallelism on
PostgreSQL, the single-writer lock on SQLite).

The in-process races in tests/outcomes (epics, measurements, contributions, idempotency) run
on one event loop; these repeat the important ones across processes, at a larger scale, and
check the stored rows with SQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEYS_SETTING, KEYS
from tests.reliability.dbutil import sql
from tests.reliability.server_process import ServerProcess

pytestmark = pytest.mark.slow

CLIENTS = 50


@pytest.fixture(scope="module")
def server(
    database_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        "outcomes",
        {
            "OUTCOMES_DATABASE_URL": database_urls["outcomes"],
            "LEDGER_API_KEYS": API_KEYS_SETTING,
            "LOG_LEVEL": "WARNING",
            "OUTBOUND_INTERVAL": "0",
            "ATTRIBUTION_URL": "http://127.0.0.1:9",
            "DB_POOL_SIZE": "20",
            "DB_MAX_OVERFLOW": "20",
            "DB_POOL_TIMEOUT": "30",
        },
        workers=2,
        log_path=tmp_path_factory.mktemp("concurrency") / "outcomes.log",
    )
    proc.start()
    yield proc
    proc.stop()
    assert not proc.error_lines(), "\n".join(proc.error_lines()[:10])


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2)
    async with httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {KEYS['admin']}"},
        timeout=60,
        limits=limits,
    ) as c:
        yield c


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.status_code}: {r.text}"
    return r.json() if r.content else None


async def _feed(client: httpx.AsyncClient, entity: str) -> list[dict[str, Any]]:
    items = ok(await client.get("/v1/changes", params={"limit": 5000}))["items"]
    return [c for c in items if c["entity"] == entity]


async def test_if_match_rounds_one_winner_per_version_no_lost_update(
    client: httpx.AsyncClient,
) -> None:
    """Each round, every remaining client PATCHes with the same `If-Match` (the current
    version) and appends its own label to the labels it read: exactly one 200 per version,
    the rest 412, and the final labels are exactly the winners' labels in winning order."""
    epic = ok(await client.post("/v1/epics", json={"key": "RACE-50", "title": "t"}), 201)
    remaining = list(range(CLIENTS))
    winners: list[int] = []
    labels: list[str] = []
    version = epic["version"]
    for _ in range(8):
        tag = f'"{version}"'

        async def patch(i: int, tag: str = tag, base: list[str] = labels) -> httpx.Response:
            return await client.patch(
                f"/v1/epics/{epic['id']}",
                json={"labels": [*base, f"c{i}"]},
                headers={"If-Match": tag, "Content-Type": "application/merge-patch+json"},
            )

        responses = await asyncio.gather(*(patch(i) for i in remaining))
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 412: len(remaining) - 1}, statuses
        for r in responses:
            if r.status_code == 412:
                problem = r.json()
                assert r.headers["content-type"].startswith("application/problem+json")
                assert problem["current_version"] == version + 1
        (i, won) = next((i, r) for i, r in zip(remaining, responses, strict=True) if r.is_success)
        body = won.json()
        assert body["version"] == version + 1 and won.headers["etag"] == f'"{version + 1}"'
        winners.append(i)
        labels = body["labels"]
        assert labels == [f"c{w}" for w in winners]
        remaining.remove(i)
        version += 1

    final = ok(await client.get(f"/v1/epics/{epic['id']}"))
    assert final["version"] == 1 + len(winners)
    assert final["labels"] == [f"c{w}" for w in winners]  # no update lost or overwritten
    updates = [c for c in await _feed(client, "epic") if c["action"] == "updated"]
    assert [c["data"]["version"] for c in updates] == list(range(2, 2 + len(winners)))
    assert [c["data"]["labels"][-1] for c in updates] == [f"c{w}" for w in winners]
    assert ok(await client.get("/v1/audit/verify"))["ok"] is True


async def test_read_modify_write_retry_loses_nothing(client: httpx.AsyncClient) -> None:
    """Twenty clients each read, append and PATCH with `If-Match`, retrying on 412 until
    they win: all twenty appends survive, versions are consecutive, no version twice."""
    epic = ok(await client.post("/v1/epics", json={"key": "RMW-1", "title": "t"}), 201)
    won_versions: list[int] = []

    async def append(i: int) -> int:
        for attempt in range(200):
            r = await client.get(f"/v1/epics/{epic['id']}")
            current = ok(r)
            patch = await client.patch(
                f"/v1/epics/{epic['id']}",
                json={"labels": [*current["labels"], f"w{i}"]},
                headers={"If-Match": r.headers["etag"]},
            )
            if patch.status_code == 200:
                won_versions.append(patch.json()["version"])
                return attempt
            assert patch.status_code == 412, patch.text
            await asyncio.sleep(0.001 * (i % 7))
        raise AssertionError(f"client {i} never won")

    attempts = await asyncio.gather(*(append(i) for i in range(20)))
    assert sum(attempts) > 0  # there was contention
    assert sorted(won_versions) == list(range(2, 22))
    final = ok(await client.get(f"/v1/epics/{epic['id']}"))
    assert sorted(final["labels"]) == sorted(f"w{i}" for i in range(20))
    assert final["version"] == 21


async def test_bulk_measurements_one_version_per_distinct_value(
    client: httpx.AsyncClient, database_urls: dict[str, str]
) -> None:
    """20 concurrent bulk writes of the same 24 periods: identical bodies store one version
    (no duplicates); bodies with distinct values store exactly one version per distinct
    value, one current version per period, and each request is atomic (a writer's value has
    the same version number in every period: whole requests are serialized)."""
    ok(
        await client.post(
            "/v1/kpis",
            json={
                "slug": "race-kpi",
                "name": "Race",
                "unit": "percent",
                "direction": "increase",
                "cadence": "monthly",
            },
        ),
        201,
    )
    periods = [f"{2024 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]

    async def write(value: str) -> dict[str, int]:
        body = [{"period": p, "value": value, "source": "race"} for p in periods]
        return dict(ok(await client.post("/v1/kpis/race-kpi/measurements", json=body), 201))

    same = await asyncio.gather(*(write("1.5") for _ in range(20)))
    assert sum(r["created"] for r in same) == len(periods)
    assert sum(r["corrected"] for r in same) == 0
    assert sum(r["unchanged"] for r in same) == 19 * len(periods)

    values = [f"2.{w:02d}" for w in range(20)]
    distinct = await asyncio.gather(*(write(v) for v in values))
    assert sum(r["corrected"] for r in distinct) == 20 * len(periods)

    url = database_urls["outcomes"]
    rows = await sql(
        url,
        "SELECT m.period, m.segment, m.version, m.value, m.superseded_at IS NULL "
        "FROM measurements m JOIN kpis k ON k.pk = m.kpi_pk WHERE k.slug = 'race-kpi'",
    )
    by_period: dict[str, list[tuple[int, Decimal, bool]]] = defaultdict(list)
    for period, segment, version, value, current in rows:
        assert segment == "all"
        by_period[period].append((int(version), Decimal(str(value)), bool(current)))
    assert sorted(by_period) == periods
    order_of_values: list[list[Decimal]] = []
    for period in periods:
        versions = sorted(by_period[period])
        assert [v for v, _, _ in versions] == list(range(1, 22)), period  # no gap, no twin
        stored = [value for _, value, _ in versions]
        assert Counter(stored) == Counter([Decimal("1.5"), *map(Decimal, values)]), period
        assert [current for _, _, current in versions] == [False] * 20 + [True]
        order_of_values.append(stored)
    assert all(order == order_of_values[0] for order in order_of_values)  # atomic requests
    current_count = await sql(
        url,
        "SELECT m.period, COUNT(*) FROM measurements m JOIN kpis k ON k.pk = m.kpi_pk "
        "WHERE k.slug = 'race-kpi' AND m.superseded_at IS NULL GROUP BY m.period",
    )
    assert {int(n) for _, n in current_count} == {1}
    feed = await _feed(client, "measurement")
    assert len(feed) == len(rows)  # one change entry per stored version, none for unchanged


async def test_overlap_guard_holds_across_processes(
    client: httpx.AsyncClient, database_urls: dict[str, str]
) -> None:
    """40 epics claim shares of two KPIs at once (creates), then race to raise them
    (PATCH): the claimed shares of a KPI never add up to more than 1."""
    for slug in ("share-a", "share-b"):
        ok(
            await client.post(
                "/v1/kpis",
                json={
                    "slug": slug,
                    "name": slug,
                    "unit": "count",
                    "direction": "increase",
                    "cadence": "monthly",
                },
            ),
            201,
        )
    keys = [f"SH-{i}" for i in range(40)]
    made = await asyncio.gather(
        *(client.post("/v1/epics", json={"key": k, "title": k}) for k in keys)
    )
    assert {r.status_code for r in made} == {201}

    async def claim(key: str, slug: str, share: str) -> httpx.Response:
        return await client.post(
            f"/v1/epics/{key}/contributions", json={"kpi": slug, "claimed_share": share}
        )

    shares = ["0.15", "0.2", "0.25", "0.3"]
    creates = await asyncio.gather(
        *(
            claim(k, slug, shares[i % 4])
            for i, k in enumerate(keys)
            for slug in ("share-a", "share-b")
        )
    )
    assert {r.status_code for r in creates} <= {201, 409}
    assert any(r.status_code == 409 for r in creates)
    for r in creates:
        if r.status_code == 409:
            assert r.json()["type"].endswith("overlap-guard"), r.text

    async def sums() -> dict[str, Decimal]:
        rows = await sql(
            database_urls["outcomes"],
            "SELECT k.slug, SUM(c.claimed_share) FROM contributions c "
            "JOIN kpis k ON k.pk = c.kpi_pk GROUP BY k.slug",
        )
        # SQLite sums the NUMERIC column as a double: round to the column's 10 places.
        return {slug: Decimal(str(total)).quantize(Decimal("1e-10")) for slug, total in rows}

    after_creates = await sums()
    assert all(total <= 1 for total in after_creates.values()), after_creates
    expected: dict[str, Decimal] = defaultdict(lambda: Decimal("0E-10"))
    for r in creates:
        if r.status_code == 201:
            expected[r.json()["kpi"]] += Decimal(r.json()["claimed_share"])
    assert after_creates == expected

    holders = [r.json() for r in creates if r.status_code == 201]
    raises = await asyncio.gather(
        *(
            client.patch(
                f"/v1/epics/{h['epic']}/contributions/{h['kpi']}",
                json={"claimed_share": "0.5"},
            )
            for h in holders
        )
    )
    assert {r.status_code for r in raises} <= {200, 409}, {r.text for r in raises}
    after_raises = await sums()
    assert all(total <= 1 for total in after_raises.values()), after_raises


async def test_idempotency_key_reuse_has_one_effect(client: httpx.AsyncClient) -> None:
    """30 concurrent POSTs with one `Idempotency-Key` (same body) across both workers: one
    epic, one change entry, every answer the same 201; 20 with one key and different bodies:
    one effect, the others 422 (or a replay of the winner)."""
    body = {"key": "IDEM-1", "title": "once"}
    same = await asyncio.gather(
        *(
            client.post("/v1/epics", json=body, headers={"Idempotency-Key": "idem-same"})
            for _ in range(30)
        )
    )
    assert {r.status_code for r in same} == {201}, {r.text for r in same}
    assert len({r.content for r in same}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in same) == 29

    bodies = [{"key": f"IDEM-D{i}", "title": "d"} for i in range(20)]
    mixed = await asyncio.gather(
        *(
            client.post("/v1/epics", json=b, headers={"Idempotency-Key": "idem-mixed"})
            for b in bodies
        )
    )
    statuses = Counter(r.status_code for r in mixed)
    assert statuses[201] == 1 and statuses[422] == 19, statuses
    for r in mixed:
        if r.status_code == 422:
            assert r.json()["type"].endswith("idempotency-key-reused"), r.text

    epics = ok(await client.get("/v1/epics", params={"limit": 500}))["items"]
    created = [e["key"] for e in epics]
    assert created.count("IDEM-1") == 1
    assert len([k for k in created if k.startswith("IDEM-D")]) == 1
    assert len([c for c in await _feed(client, "epic") if c["action"] == "created"]) == 2


def test_server_log_is_clean(server: ServerProcess) -> None:
    """No unhandled error was logged by either worker during the races above."""
    assert not server.error_lines(), "\n".join(server.error_lines()[:10])
