"""`ledger sync`, `ledger runs create|verify` and `ledger seed-demo` as real subprocesses,
the sync against a real outcomes uvicorn process."""

from __future__ import annotations

import json

from tests.attribution.helpers import ok
from tests.cli.test_cli import _env, ledger
from tests.conftest import API_KEYS_SETTING, KEYS
from tests.reliability.server_process import ServerProcess, free_port


async def test_demo_seed_is_idempotent(attribution_settings, attribution_client) -> None:  # type: ignore[no-untyped-def]
    from attribution.demo import NAME, seed

    first = await seed(attribution_settings)
    assert "agreed" in first and "checks skipped" in first
    assert "already" in await seed(attribution_settings)
    rs = ok(await attribution_client.get(f"/v1/rulesets/{NAME}"))
    assert [(v["version"], v["status"]) for v in rs["versions"]] == [(1, "agreed")]
    v = ok(await attribution_client.get(f"/v1/rulesets/{rs['id']}/versions/1"))
    assert v["warnings"][0]["code"] == "checks_skipped"
    assert v["rules"]["defaults"]["confidence"] == "0.8"


async def test_sync_and_runs_commands(database_urls, outcomes_client) -> None:  # type: ignore[no-untyped-def]
    env = _env(database_urls)
    env["OUTCOMES_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    down = ledger("sync", env=env)
    assert down.returncode == 1
    assert "cannot reach outcomes" in down.stderr

    c = outcomes_client
    ok(
        await c.post(
            "/v1/kpis",
            json={
                "slug": "checkout-conversion",
                "name": "Checkout conversion",
                "stream": "Revenue",
                "unit": "percent",
                "direction": "increase",
                "target": {"value": "3.3", "due": "2026-06-30"},
            },
        ),
        201,
    )
    ok(
        await c.put(
            "/v1/kpis/checkout-conversion/baseline",
            json={"value": "2.1", "as_of": "2026-01-31", "source": "bi", "agreed_by": "cfo"},
        )
    )
    ok(
        await c.post(
            "/v1/epics",
            json={
                "key": "PAY-12",
                "title": "NBO",
                "planned_cost": {"amount": "500000.00", "currency": "USD"},
            },
        ),
        201,
    )
    ok(
        await c.post(
            "/v1/epics/PAY-12/contributions",
            json={"kpi": "checkout-conversion", "claimed_share": "0.6"},
        ),
        201,
    )
    ok(
        await c.post(
            "/v1/kpis/checkout-conversion/measurements",
            json=[{"period": "2026-04", "value": "2.5"}],
        ),
        201,
    )

    server = ServerProcess(
        "outcomes",
        {"OUTCOMES_DATABASE_URL": database_urls["outcomes"], "LEDGER_API_KEYS": API_KEYS_SETTING},
    )
    server.start()
    try:
        env["OUTCOMES_URL"] = server.url
        env["OUTCOMES_API_KEY"] = KEYS["read"]
        synced = ledger("sync", env=env)
        assert synced.returncode == 0, synced.stderr
        assert "applied" in synced.stdout
    finally:
        server.stop()

    seeded = ledger("seed-demo", "--service", "attribution", env=env)
    assert seeded.returncode == 0, seeded.stderr
    assert "agreed" in seeded.stdout

    created = ledger(
        "runs",
        "create",
        "--ruleset",
        "Finance FY26",
        "--from",
        "2026-04",
        "--to",
        "2026-04",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    run = json.loads(created.stdout)
    assert run["status"] == "official"
    assert run["totals"]["benefit"] == {"amount": "128000.00", "currency": "USD"}

    verified = ledger("runs", "verify", run["id"], env=env)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
    missing = ledger("runs", "verify", "nope", env=env)
    assert missing.returncode == 1
