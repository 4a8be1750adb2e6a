"""Attribution does not depend on outcomes being up.

Outcomes runs as a real uvicorn process; attribution (in process) follows its change feed
with the background follower. Mid-load, outcomes is killed with SIGKILL: attribution keeps
answering benefits, runs, lines and verify from its replica, and computes a new official
run from it. Outcomes comes back (same port, same database) and more writes arrive: the
follower catches up from the exact feed position, and the replica then holds exactly one
row per replicated feed entry (no duplicate, no gap) with the same current state as
outcomes, including every write acknowledged before the crash.

tests/attribution/replica covers the follower in process (resume, small pages, an outage
simulated by pointing it at a closed port, error states); this adds the real crash.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerkit.testing import app_client
from tests.attribution.helpers import WORKED_RULES, Linked
from tests.attribution.runs.test_worked_example import seed_worked_example
from tests.conftest import API_KEYS_SETTING, KEYS
from tests.reliability.dbutil import sql
from tests.reliability.server_process import ServerProcess

pytestmark = pytest.mark.slow

REPLICATED = ("epic", "kpi", "contribution", "measurement")
TABLES = ("replica_epics", "replica_kpis", "replica_contributions", "replica_measurements")
ADMIN = {"Authorization": f"Bearer {KEYS['admin']}"}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


@pytest.fixture
def outcomes_env(database_urls: dict[str, str]) -> dict[str, str]:
    return {
        "OUTCOMES_DATABASE_URL": database_urls["outcomes"],
        "LEDGER_API_KEYS": API_KEYS_SETTING,
        "LOG_LEVEL": "WARNING",
        "OUTBOUND_INTERVAL": "0",
        "ATTRIBUTION_URL": "http://127.0.0.1:9",
    }


@pytest.fixture
def outcomes_server(outcomes_env: dict[str, str], tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess("outcomes", outcomes_env, log_path=tmp_path / "outcomes.log")
    server.start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.stop()


@pytest.fixture
async def linked(
    outcomes_server: ServerProcess, attribution_settings: Any
) -> AsyncIterator[Linked]:
    from attribution.app import create_app

    settings = attribution_settings.model_copy(
        update={
            "outcomes_url": outcomes_server.url,
            "outcomes_api_key": KEYS["read"],
            "sync_interval": 0.2,  # the background follower, as in production
        }
    )
    app = create_app(settings)
    async with (
        httpx.AsyncClient(base_url=outcomes_server.url, headers=ADMIN, timeout=30) as outcomes,
        app_client(app, key=KEYS["admin"]) as attribution,
    ):
        yield Linked(outcomes, attribution, app, None)  # type: ignore[arg-type]


async def _feed(outcomes: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = ok(await outcomes.get("/v1/changes", params={"after": after, "limit": 5000}))
        if not page["items"]:
            return items
        items += page["items"]
        after = page["next_after"]


async def _caught_up(linked: Linked, timeout: float = 60) -> dict[str, Any]:
    head = (ok(await linked.outcomes.get("/v1/changes", params={"limit": 1})))["head"]
    deadline = time.monotonic() + timeout
    while True:
        state = ok(await linked.attribution.get("/v1/sync"))
        if state["after"] >= head and state["lag"] == 0 and not state["last_error"]:
            return dict(state)
        assert time.monotonic() < deadline, f"replica not caught up with {head}: {state}"
        await asyncio.sleep(0.2)


async def _writer(outcomes: httpx.AsyncClient, acked: list[str], stop: asyncio.Event) -> None:
    for i in itertools.count():
        if stop.is_set():
            return
        try:
            r = await outcomes.post("/v1/epics", json={"key": f"LOAD-{i}", "title": f"load {i}"})
            m = await outcomes.post(
                "/v1/kpis/load-kpi/measurements",
                json={"period": f"{2020 + i // 12}-{i % 12 + 1:02d}", "value": str(i)},
            )
        except httpx.HTTPError:
            return  # outcomes died under us: not acknowledged
        if r.status_code == 201:
            acked.append(f"LOAD-{i}")
        if m.status_code == 201:
            acked.append(f"m:{i}")


async def test_attribution_serves_while_outcomes_is_down_then_catches_up(
    linked: Linked,
    outcomes_server: ServerProcess,
    outcomes_env: dict[str, str],
    database_urls: dict[str, str],
    tmp_path: Path,
) -> None:
    await seed_worked_example(linked)
    ok(
        await linked.outcomes.post(
            "/v1/kpis",
            json={
                "slug": "load-kpi",
                "name": "load",
                "unit": "count",
                "direction": "increase",
                "cadence": "monthly",
            },
        ),
        201,
    )
    await _caught_up(linked)
    ruleset, _ = await linked.agreed_ruleset(WORKED_RULES)
    run = await linked.run(ruleset, "2026-04", "2026-06")
    assert run["totals"]["benefit"]["amount"] == "1280000.00"
    benefits = ok(await linked.attribution.get("/v1/benefits"))

    # Load, then SIGKILL outcomes in the middle of it.
    acked: list[str] = []
    stop = asyncio.Event()
    writers = [asyncio.create_task(_writer(linked.outcomes, acked, stop))]
    deadline = time.monotonic() + 30
    while len(acked) < 20 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    outcomes_server.kill9()
    stop.set()
    await asyncio.gather(*writers)
    assert len(acked) >= 10

    # Outcomes is gone: attribution answers from its replica.
    deadline = time.monotonic() + 30
    while not ok(await linked.attribution.get("/v1/sync"))["last_error"]:
        assert time.monotonic() < deadline, "the follower never noticed the outage"
        await asyncio.sleep(0.2)
    assert ok(await linked.attribution.get("/v1/benefits")) == benefits
    assert run["id"] in [r["id"] for r in ok(await linked.attribution.get("/v1/runs"))["items"]]
    assert ok(await linked.attribution.get(f"/v1/runs/{run['id']}/lines"))["items"]
    assert ok(await linked.attribution.post(f"/v1/runs/{run['id']}/verify"))["ok"] is True
    during = await linked.run(ruleset, "2026-04", "2026-06")  # a new official run
    assert during["totals"]["benefit"] == run["totals"]["benefit"]
    assert (await linked.attribution.get("/readyz")).status_code == 200  # still ready

    # Outcomes returns (same port, same database); more writes arrive.
    restarted = ServerProcess(
        "outcomes", outcomes_env, port=outcomes_server.port, log_path=tmp_path / "again.log"
    )
    restarted.start()
    try:
        for i in range(5):
            ok(
                await linked.outcomes.post("/v1/epics", json={"key": f"AFTER-{i}", "title": "a"}),
                201,
            )
            acked.append(f"AFTER-{i}")
        state = await _caught_up(linked)
        feed = await _feed(linked.outcomes)
        epics: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 500, "include_archived": "true"}
            if cursor:
                params["cursor"] = cursor
            page = ok(await linked.outcomes.get("/v1/epics", params=params))
            epics += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        load = ok(
            await linked.outcomes.get("/v1/kpis/load-kpi/measurements", params={"limit": 500})
        )
    finally:
        restarted.stop()

    # The exact feed position: the replica stands at outcomes' head, on its hash.
    assert state["after"] == feed[-1]["seq"] == state["head"]
    url = database_urls["attribution"]
    (last_hash,) = (await sql(url, "SELECT last_hash FROM replica_state"))[0]
    assert last_hash == feed[-1]["hash"]

    # One replica row per replicated feed entry: no duplicate, no gap.
    seqs: list[int] = []
    for table in TABLES:
        seqs += [int(seq) for (seq,) in await sql(url, f'SELECT seq FROM "{table}"')]
    seqs.sort()
    assert seqs == sorted(c["seq"] for c in feed if c["entity"] in REPLICATED)

    # Same current state as outcomes, every acknowledged write included.
    current = {
        row.id: row
        for row in await sql(
            url, "SELECT id, key, title, status FROM replica_epics WHERE superseded_at IS NULL"
        )
    }
    assert {e["id"] for e in epics} == set(current)
    for e in epics:
        row = current[e["id"]]
        assert (row.key, row.title, row.status) == (e["key"], e["title"], e["status"])
    keys = {e["key"] for e in epics}
    assert all(k in keys for k in acked if not k.startswith("m:"))
    replica_values = {
        row.period: Decimal(str(row.value))
        for row in await sql(
            url,
            "SELECT period, value FROM replica_measurements "
            "WHERE kpi = 'load-kpi' AND superseded_at IS NULL",
        )
    }
    assert replica_values == {m["period"]: Decimal(m["value"]) for m in load["items"]}
    assert len(replica_values) >= len([k for k in acked if k.startswith("m:")])
    assert not restarted.error_lines() and not outcomes_server.error_lines()
