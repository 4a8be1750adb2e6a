"""Benchmark: an official attribution run over 10,000 epics x 200 KPIs x 36 months.

Generates the data straight into the replica tables of `DATABASE_URL` (SQLite file or
PostgreSQL; the attribution tables are migrated and emptied first), agrees a rule set, then
runs `attribution.runs.service.create_run` — the same function `POST /v1/runs` calls — and
records wall time per phase and peak RSS in bench/results/attribution_run.json.

    DATABASE_URL=sqlite:///data/bench_attribution.db .venv/bin/python bench/attribution_run.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/attribution_run.py

Options: --epics N --kpis N --months N --profile (pyinstrument HTML next to the JSON).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from sqlalchemy import delete, insert  # noqa: E402

from attribution.db import migrations_config  # noqa: E402
from attribution.models import (  # noqa: E402
    AttributionRun,
    ReplicaContribution,
    ReplicaEpic,
    ReplicaKpi,
    ReplicaMeasurement,
    ReplicaState,
    RuleSet,
    RuleSetVersion,
)
from attribution.rulesets import service as rulesets  # noqa: E402
from attribution.rulesets.schemas import RuleSetCreate, VersionCreate  # noqa: E402
from attribution.runs import service as runs  # noqa: E402
from attribution.runs.schemas import RunCreate  # noqa: E402
from ledgerkit import migrate  # noqa: E402
from ledgerkit.auth import Principal  # noqa: E402
from ledgerkit.db import Database, is_sqlite  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "attribution_run.json"
CHUNK = 5000


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def months(n: int, start: int = 2024 * 12) -> list[str]:
    return [f"{(start + i) // 12:04d}-{(start + i) % 12 + 1:02d}" for i in range(n)]


async def _insert(db: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        async with db.session(write=True) as session:
            await session.execute(insert(model.__table__), rows[i : i + CHUNK])


async def generate(db: Database, n_epics: int, n_kpis: int, n_months: int) -> None:
    async with db.session(write=True) as session:
        for model in (
            AttributionRun,
            RuleSetVersion,
            RuleSet,
            ReplicaMeasurement,
            ReplicaContribution,
            ReplicaEpic,
            ReplicaKpi,
            ReplicaState,
        ):
            await session.execute(delete(model))
    t0 = datetime(2023, 12, 1, tzinfo=UTC)
    seq = 0

    def next_seq() -> int:
        nonlocal seq
        seq += 1
        return seq

    kpis = [
        {
            "seq": next_seq(),
            "slug": f"kpi-{k:03d}",
            "name": f"KPI {k}",
            "stream": ("Revenue", "Cost", "Risk", "CX")[k % 4],
            "unit": "percent",
            "direction": "decrease" if k % 5 == 0 else "increase",
            "cadence": "monthly",
            "baseline": "50",
            "target": "90" if k % 5 else "10",
            "target_due": "2026-12-31",
            "vpu_amount": str(100_000 + 1000 * k),
            "vpu_currency": "EUR" if k % 7 == 0 else "USD",
            "vpu_per": "year",
            "recorded_at": t0,
            "superseded_at": None,
        }
        for k in range(n_kpis)
    ]
    epics = [
        {
            "seq": next_seq(),
            "id": f"epic{e:06d}",
            "key": f"EP-{e}",
            "title": f"Epic {e}",
            "status": "active",
            "team": f"team-{e % 40}",
            "streams": [("Revenue", "Cost", "Risk", "CX")[e % 4]],
            "planned_cost_amount": str(50_000 + (e % 100) * 1000),
            "planned_cost_currency": "USD",
            "start_date": "2024-01-15",
            "recorded_at": t0,
            "superseded_at": None,
        }
        for e in range(n_epics)
    ]
    per_kpi = max(1, n_epics // n_kpis)
    share = f"{1 / per_kpi:.6f}"[:8]
    contributions = [
        {
            "seq": next_seq(),
            "epic_id": f"epic{e:06d}",
            "kpi": f"kpi-{e % n_kpis:03d}",
            "expected_uplift": "1",
            "claimed_share": share,
            "deleted": False,
            "recorded_at": t0,
            "superseded_at": None,
        }
        for e in range(n_epics)
    ]
    measurements = []
    for k in range(n_kpis):
        sign = -1 if k % 5 == 0 else 1
        for i, period in enumerate(months(n_months)):
            measurements.append(
                {
                    "seq": next_seq(),
                    "kpi": f"kpi-{k:03d}",
                    "period": period,
                    "segment": "all",
                    "value": str(50 + sign * (i % 30) * 1.25),
                    "version": 1,
                    "recorded_at": t0 + timedelta(days=1),
                    "superseded_at": None,
                }
            )
    await _insert(db, ReplicaKpi, kpis)
    await _insert(db, ReplicaEpic, epics)
    await _insert(db, ReplicaContribution, contributions)
    await _insert(db, ReplicaMeasurement, measurements)
    await _insert(
        db,
        ReplicaState,
        [{"id": 1, "after": seq, "head": seq, "updated_at": datetime.now(UTC)}],
    )


async def agree(db: Database) -> str:
    rules = {
        "currency": "USD",
        "fx": {"EUR": "1.08"},
        "defaults": {"confidence": "0.8", "cap_at_target": True, "split": "claimed"},
    }
    async with db.session(write=True) as session:
        rs = await rulesets.create_ruleset(session, RuleSetCreate(name="Bench"), "bench")
        v = await rulesets.create_version(
            session, rs.id, VersionCreate(rules=rules, effective_from="2024-01"), "bench"
        )
        await rulesets.propose_version(session, rs.id, v.version, "bench")
        await rulesets.agree_version(session, rs.id, v.version, "bench:finance")
    return rs.id


async def main(args: argparse.Namespace) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "sqlite:///data/bench_attribution.db")
    await migrate.upgrade(url, migrations_config())
    db = Database(url)
    try:
        t = time.perf_counter()
        await generate(db, args.epics, args.kpis, args.months)
        generate_s = time.perf_counter() - t
        ruleset = await agree(db)
        periods = months(args.months)
        body = RunCreate.model_validate({"ruleset": ruleset, "from": periods[0], "to": periods[-1]})
        principal = Principal("bench", frozenset({"read", "write", "finance"}))
        rss_before = peak_rss_mib()
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled")
            profiler.start()
        t = time.perf_counter()
        cpu = time.process_time()
        async with db.session(write=True) as session:
            run = await runs.create_run(db, session, principal, body)
            t_commit = time.perf_counter()
        wall = time.perf_counter() - t
        cpu_s = time.process_time() - cpu
        commit_s = time.perf_counter() - t_commit
        if profiler is not None:
            profiler.stop()
            RESULTS.with_suffix(".html").write_text(profiler.output_html())
        t = time.perf_counter()
        async with db.session() as session:
            verified = await runs.verify_run(session, run.id)
        verify_s = time.perf_counter() - t
    finally:
        await db.dispose()
    return {
        "database": "sqlite" if is_sqlite(url) else "postgresql",
        "epics": args.epics,
        "kpis": args.kpis,
        "months": args.months,
        "lines": run.totals.lines,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu_s, 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "phases_ms": {**run.timings, "commit_ms": round(commit_s * 1000, 1)},
        "compute_s": round(run.timings["compute_ms"] / 1000, 3),
        "store_s": round((run.timings["store_ms"] / 1000) + commit_s, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rss_before_run_mib": round(rss_before, 1),
        "verify_s": round(verify_s, 3),
        "verify_ok": verified.ok,
        "generate_s": round(generate_s, 3),
        "target": {"wall_s": 10, "peak_rss_mib": 1024},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epics", type=int, default=10_000)
    parser.add_argument("--kpis", type=int, default=200)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--profile", action="store_true")
    result = asyncio.run(main(parser.parse_args()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Any] = {}
    if RESULTS.exists():
        try:
            existing = json.loads(RESULTS.read_text())
        except json.JSONDecodeError:
            existing = {}
    existing[result["database"]] = result
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))
