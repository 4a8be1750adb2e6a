"""Demo data: seeded through the API, idempotent, and loadable with `ledger seed-demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
from sqlalchemy import text

from ledgerkit.db import create_engine
from outcomes.demo import seed

TABLES = ("epics", "kpis", "measurements", "contributions", "scores", "decisions", "changes")


async def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one())
                for t in TABLES
            }
    finally:
        await engine.dispose()


async def test_seed_is_idempotent_and_matches_the_worked_example(
    outcomes_settings: Any, database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    first = await seed(outcomes_settings)
    assert first.startswith("seeded")
    counts = await _counts(database_urls["outcomes"])
    assert counts["epics"] >= 8
    assert counts["kpis"] == 5
    assert counts["scores"] >= 2
    assert counts["decisions"] >= 2

    second = await seed(outcomes_settings)
    assert second.startswith("already seeded")
    assert await _counts(database_urls["outcomes"]) == counts

    c = outcomes_client
    kpi = (await c.get("/v1/kpis/checkout-conversion")).json()
    assert kpi["baseline"]["value"] == "2.1"
    assert kpi["target"]["value"] == "3.3"
    assert kpi["value_per_unit"] == {"amount": "8000000", "currency": "USD", "per": "year"}
    values = (
        await c.get(
            "/v1/kpis/checkout-conversion/measurements", params={"from": "2026-04", "to": "2026-06"}
        )
    ).json()["items"]
    assert [(m["period"], m["value"]) for m in values] == [
        ("2026-04", "2.5"),
        ("2026-05", "2.9"),
        ("2026-06", "3.4"),
    ]
    assert values[1]["version"] == 2  # the correction
    shares = {
        key: (await c.get(f"/v1/epics/{key}/contributions/checkout-conversion")).json()[
            "claimed_share"
        ]
        for key in ("PAY-12", "WEB-7")
    }
    assert shares == {"PAY-12": "0.6", "WEB-7": "0.4"}
    pay = (await c.get("/v1/epics/PAY-12")).json()
    assert pay["planned_cost"] == {"amount": "500000.00", "currency": "USD"}
    streams = {
        s
        for e in (await c.get("/v1/epics", params={"limit": 500})).json()["items"]
        for s in e["streams"]
    }
    assert streams == {"Revenue", "Cost", "Risk", "CX"}
    nps = (await c.get("/v1/kpis/nps")).json()
    assert nps["cadence"] == "quarterly"

    changes = (await c.get("/v1/changes", params={"limit": 5000})).json()["items"]
    assert {ch["actor"] for ch in changes} == {"demo-seed"}
    assert (await c.get("/v1/audit/verify")).json()["ok"] is True


def test_cli_seed_demo(database_urls: dict[str, str]) -> None:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env["OUTCOMES_DATABASE_URL"] = database_urls["outcomes"]
    env["PYTHONPATH"] = os.pathsep.join(["services", env.get("PYTHONPATH", "")])
    r = subprocess.run(
        [sys.executable, "-m", "ledger_cli", "seed-demo", "--service", "outcomes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    assert "outcomes: seeded" in r.stdout
