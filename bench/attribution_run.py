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


def synthetic_feed(n: int) -> list[dict[str, Any]]:
    """``n`` change-feed entries as outcomes sends them: KPIs and epics created, contributions
    set, measurements recorded, and every 10th entry an update of something seen before
    (so the apply also supersedes versions)."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    items: list[dict[str, Any]] = []
    prev = None
    for seq in range(1, n + 1):
        at = (t0 + timedelta(seconds=seq)).isoformat().replace("+00:00", "Z")
        k, e = seq % 200, seq % 10_000
        kind = seq % 10
        if seq <= 200:
            entity, action, data = (
                "kpi",
                "created",
                {
                    "slug": f"kpi-{seq:03d}",
                    "name": f"KPI {seq}",
                    "stream": "Revenue",
                    "unit": "percent",
                    "direction": "increase",
                    "cadence": "monthly",
                    "baseline": {"value": "50"},
                    "target": {"value": "90", "due": "2026-12-31"},
                    "value_per_unit": {"amount": "120000", "currency": "USD", "per": "year"},
                },
            )
        elif kind in (1, 2):
            entity, action, data = (
                "epic",
                "created" if seq < 40_000 else "updated",
                {
                    "id": f"epic{e:06d}",
                    "key": f"EP-{e}",
                    "title": f"Epic {e}",
                    "status": "active",
                    "team": "team-1",
                    "streams": ["Revenue"],
                    "start_date": "2024-01-15",
                    "planned_cost": {"amount": "50000.00", "currency": "USD"},
                },
            )
        elif kind == 3:
            entity, action, data = (
                "contribution",
                "set",
                {
                    "epic_id": f"epic{e:06d}",
                    "kpi": f"kpi-{k:03d}",
                    "expected_uplift": "1",
                    "claimed_share": "0.02",
                },
            )
        elif kind == 4:
            entity, action, data = "score", "recorded", {"epic_id": f"epic{e:06d}", "value": 3}
        else:
            month = seq // 200 % 36
            period = f"{2024 + month // 12}-{month % 12 + 1:02d}"
            entity, action, data = (
                "measurement",
                "recorded" if kind else "corrected",
                {
                    "kpi": f"kpi-{k:03d}",
                    "period": period,
                    "segment": "all",
                    "value": str(50 + seq % 40),
                    "version": 1 if kind else 2,
                    "recorded_at": at,
                },
            )
        digest = f"h{seq}"
        items.append(
            {
                "seq": seq,
                "at": at,
                "entity": entity,
                "entity_id": str(seq),
                "action": action,
                "data": data,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return items


async def replica_apply(db: Database, n: int, page_size: int = 5000) -> dict[str, Any]:
    """Scenario 7's apply side alone: ``n`` synthetic feed entries applied page by page
    through `replica.store.apply_page` (one transaction per page, as the follower does),
    with no HTTP: the rate the attribution side can absorb."""
    from attribution.replica import store as replica_store

    async with db.session(write=True) as session:
        for model in (ReplicaMeasurement, ReplicaContribution, ReplicaEpic, ReplicaKpi):
            await session.execute(delete(model))
        await session.execute(delete(ReplicaState))
    items = synthetic_feed(n)
    t = time.perf_counter()
    cpu = time.process_time()
    for start in range(0, n, page_size):
        async with db.session(write=True) as session:
            await replica_store.apply_page(session, items[start : start + page_size], n)
    wall = time.perf_counter() - t
    return {
        "changes": n,
        "page_size": page_size,
        "wall_s": round(wall, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "changes_per_s": round(n / wall),
        "changes_per_cpu_s": round(n / max(time.process_time() - cpu, 1e-9)),
    }


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
    if getattr(args, "replica_changes", 0):
        try:
            out = await replica_apply(db, args.replica_changes)
        finally:
            await db.dispose()
        return {"database": "sqlite" if is_sqlite(url) else "postgresql", "replica_apply": out}
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
        cpu = time.process_time()
        async with db.session() as session:
            verified = await runs.verify_run(session, run.id)
        verify_s = time.perf_counter() - t
        verify_cpu_s = time.process_time() - cpu
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
        "verify_cpu_s": round(verify_cpu_s, 3),
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
    parser.add_argument(
        "--replica-changes",
        type=int,
        default=0,
        help="instead of a run: apply N synthetic change-feed entries to the replica",
    )
    result = asyncio.run(main(parser.parse_args()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Any] = {}
    if RESULTS.exists():
        try:
            existing = json.loads(RESULTS.read_text())
        except json.JSONDecodeError:
            existing = {}
    if "replica_apply" in result:
        existing.setdefault("replica_apply", {})[result["database"]] = result["replica_apply"]
    else:
        existing[result["database"]] = result
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))
