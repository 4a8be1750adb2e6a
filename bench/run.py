"""One command for the whole benchmark: `.venv/bin/python -m bench.run [options]`.

Creates a fresh PostgreSQL database, migrates it with `ledger migrate`, starts the services
as real processes with production settings, loads the generated data set through the public
API, starts the peers (a minimal Starlette app and PostGraphile 5) on the same tables, runs
the scenarios of issue 10 side by side, writes `bench/results/latest.{json,md}` and drops
the database. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench import apiload, env, report, sql
from bench.datagen import Dataset, generate

HOST = "127.0.0.1"
# Filled with free ports at start-up (the machine is shared: fixed ports may be taken).
PORTS = {"outcomes": 0, "attribution": 0, "starlette": 0, "postgraphile": 0}
RESULTS = env.BENCH / "results"
AUTH = {"Authorization": f"Bearer {env.API_KEY}"}
ALL_SCENARIOS = (1, 2, 3, 4, 5, 6, 7)
# Reads first, then the change feed and attribution (which read what the writes left),
# then the write scenarios.
ORDER = (1, 2, 4, 7, 6, 3, 5)

EPIC_FIELDS = (
    "rowId key title streams status source sourceId owner team plannedCostAmount "
    "plannedCostCurrency startDate targetDate hypothesis changeType sponsor labels warnings "
    "version createdAt updatedAt archivedAt"
)
PGL_LIST = (
    "query($stream:String!,$first:Int!){epicsInStream(stream:$stream,first:$first)"
    "{nodes{" + EPIC_FIELDS + "} pageInfo{hasNextPage endCursor}}}"
)
PGL_GET = "query($key:String!){epicByKey(key:$key){" + EPIC_FIELDS + "}}"
PGL_BI = (
    "query($stream:String!,$first:Int!){epicsInStream(stream:$stream,first:$first){nodes{"
    "rowId key title status team streams contributionsByEpicPk{nodes{claimedShare "
    'kpiByKpiPk{slug name unit direction measurementsByKpiPk(condition:{segment:"all",'
    "supersededAt:null},orderBy:PERIOD_DESC,first:12){nodes{period value}}}}}} "
    "pageInfo{hasNextPage endCursor}}}"
)

# The same fields as PGL_BI and sql.BI_EPICS, in the ledger's schema (issue 9).
OURS_BI = (
    "query($first:Int!){epics(filter:{stream:Revenue},first:$first){edges{node{"
    "id key title status team streams contributions{edges{node{claimedShare "
    'kpi{slug name unit direction measurements(segment:"all",last:12){edges{node{'
    "period value}}}}}}}}} pageInfo{hasNextPage endCursor}}}"
)


@dataclass
class Ctx:
    args: argparse.Namespace
    db_name: str
    dsn: str
    workdir: Path
    procs: dict[str, env.Proc] = field(default_factory=dict)
    ds: Dataset | None = None
    openapi: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""

    @property
    def db_url(self) -> str:
        return self.dsn

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def load_spec(self, **kw: Any) -> dict[str, Any]:
        a = self.args
        spec = {
            "host": HOST,
            "concurrency": a.concurrency,
            "warmup": a.warmup,
            "duration": a.duration,
            "trials": a.trials,
            "max_requests": a.max_requests,
        }
        spec.update(kw)
        return spec


# ---------------------------------------------------------------- measuring


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            out[pid] = t.user + t.system
    return out


def cpu_since(before: dict[int, float], pids: list[int]) -> dict[int, float]:
    """CPU seconds used by each of `pids` since `before` (a process started since then
    counts from 0: e.g. a PostgreSQL backend for a connection opened during the load)."""
    return {pid: t - before.get(pid, 0.0) for pid, t in cpu_by_pid(pids).items()}


def postgres_pids() -> list[int]:
    out = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] in ("postgres", "postgresql"):
            out.append(p.pid)
    return out


def run_load(ctx: Ctx, label: str, spec: dict[str, Any], servers: list[str]) -> dict[str, Any]:
    """Runs `bench.load` in its own process; samples server RSS and CPU around it."""
    spec_path = ctx.workdir / f"{label}.spec.json"
    out_path = ctx.workdir / f"{label}.out.json"
    spec_path.write_text(json.dumps(spec))
    procs = [ctx.procs[s] for s in servers if s in ctx.procs]
    server_pids = [pid for p in procs for pid in p.pids()]
    cpu0, pg0 = cpu_by_pid(server_pids), cpu_by_pid(postgres_pids())
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    with env.RssSampler(procs) as rss:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.load", str(spec_path), str(out_path)],
            cwd=env.ROOT,
            capture_output=True,
            text=True,
            timeout=spec["warmup"] + spec["trials"] * (spec["duration"] + 120) + 120,
        )
    wall = time.perf_counter() - t0
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed for {label}: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out_path.read_text())
    driver_cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    result["peak_rss_mb"] = round(rss.peak / 2**20, 1) if procs else None
    result["driver_cpu_cores"] = round(driver_cpu / wall, 2)
    server_used = cpu_since(cpu0, server_pids)
    result["server_cpu_cores"] = round(sum(server_used.values()) / wall, 2)
    # How evenly the work spread over the server's processes (workers, and a supervisor
    # that should use ~0): a connection-balancing problem shows here.
    result["server_cpu_cores_by_process"] = sorted(
        (round(v / wall, 2) for v in server_used.values()), reverse=True
    )
    result["postgres_cpu_cores"] = round(sum(cpu_since(pg0, postgres_pids()).values()) / wall, 2)
    result["loadavg_before"] = round(load0, 2)
    result["concurrency"] = spec["concurrency"]
    first_errors = {t["first_error"] for t in result["trials"] if t.get("first_error")}
    if first_errors:
        result["first_error"] = sorted(first_errors)[0]
    ctx.log(
        f"    {label:<34} {result['rps']:>9.1f} req/s  p50 {result['p50_ms']:>7.1f} ms  "
        f"p99 {result['p99_ms']:>7.1f} ms  errors {result['errors']}  "
        f"rss {result['peak_rss_mb']} MB"
    )
    return result


def http_spec(ctx: Ctx, port: int, factory: str, **args: Any) -> dict[str, Any]:
    return ctx.load_spec(
        kind="http",
        port=port,
        factory=factory,
        args={"host": HOST, "port": port, **args},
    )


def sql_spec(ctx: Ctx, factory: str, **args: Any) -> dict[str, Any]:
    return ctx.load_spec(kind="sql", dsn=ctx.dsn, factory=factory, args=args)


# ---------------------------------------------------------------- set-up


def service_proc(
    ctx: Ctx, name: str, service: str, extra: dict[str, str] | None = None
) -> env.Proc:
    """`ledger serve <service>` with production settings on PORTS[name]."""
    service_env = env.service_env(ctx.db_url, {"SYNC_INTERVAL": "0", **(extra or {})})
    return env.Proc(
        name,
        [
            str(env.VENV_BIN / "ledger"),
            "serve",
            service,
            "--port",
            str(PORTS[name]),
            "--workers",
            str(ctx.args.workers),
        ],
        {**service_env, "OUTCOMES_URL": f"http://{HOST}:{PORTS['outcomes']}"}
        | {"OUTCOMES_API_KEY": env.API_KEY},
        PORTS[name],
        ctx.workdir / "logs" / f"{name}.log",
        ready_path="/readyz",
    )


def start_services(ctx: Ctx) -> None:
    for name in ("outcomes", "attribution"):
        proc = service_proc(ctx, name, name)
        proc.start()
        ctx.procs[name] = proc
    for name in ("outcomes", "attribution"):
        ctx.procs[name].wait_ready()
    ctx.openapi = httpx.get(f"http://{HOST}:{PORTS['outcomes']}/openapi.json", timeout=30).json()


def start_peers(ctx: Ctx) -> None:
    logs = ctx.workdir / "logs"
    st = env.Proc(
        "starlette",
        [
            str(env.VENV_BIN / "uvicorn"),
            "bench.peers.starlette_floor:app",
            "--host",
            HOST,
            "--port",
            str(PORTS["starlette"]),
            "--workers",
            str(ctx.args.workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        {**os.environ, "BENCH_DSN": ctx.dsn, "PYTHONPATH": str(env.ROOT)},
        PORTS["starlette"],
        logs / "starlette.log",
        ready_path="/ping",
    )
    st.start()
    ctx.procs["starlette"] = st
    st.wait_ready()
    if ctx.args.no_postgraphile:
        return
    if not env.ensure_node_modules(ctx.log):
        ctx.log("PostGraphile peer not available (npm install failed)")
        return
    node = env.node_binary()
    assert node is not None
    for f in ("graphile.config.mjs", "postgraphile_server.mjs"):
        shutil.copy(env.BENCH / "peers" / f, env.NODE_DIR / f)
    pgl = env.Proc(
        "postgraphile",
        [node, "postgraphile_server.mjs"],
        {
            **os.environ,
            "DATABASE_URL": ctx.dsn,
            "PORT": str(PORTS["postgraphile"]),
            "WORKERS": str(ctx.args.workers),
            "NODE_ENV": "production",
        },
        PORTS["postgraphile"],
        logs / "postgraphile.log",
        cwd=env.NODE_DIR,
        ready_path="/graphql",
    )
    pgl.start()
    ctx.procs["postgraphile"] = pgl
    # GET /graphql without a query answers 4xx once the schema is built.
    pgl.wait_ready(timeout=120, ok=(200, 400, 405))


async def prepare_db(ctx: Ctx) -> None:
    conn = await asyncpg.connect(ctx.dsn)
    try:
        await conn.execute((env.BENCH / "peers" / "graphile_functions.sql").read_text())
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def load_data(ctx: Ctx) -> None:
    a = ctx.args
    t0 = time.perf_counter()
    ctx.ds = generate(a.epics, a.kpis, seed=a.seed)
    counts = ctx.ds.counts()
    ctx.log(f"generated {counts} in {time.perf_counter() - t0:.1f}s")
    modes = apiload.plan(ctx.openapi)
    if a.load == "sql":
        modes = dict.fromkeys(modes, "sql")
    ctx.log(f"load plan: {modes}")
    t0 = time.perf_counter()
    timings = asyncio.run(
        apiload.load(
            f"http://{HOST}:{PORTS['outcomes']}",
            env.API_KEY,
            ctx.dsn,
            ctx.ds,
            modes,
            ctx.log,
            api_epics=a.api_epics,
        )
    )
    total = time.perf_counter() - t0
    ctx.results["data"] = {"counts": counts, "load": timings, "load_seconds": round(total, 1)}
    ctx.log(f"data loaded in {total:.1f}s")


# ---------------------------------------------------------------- scenarios


def check_json(url: str, method: str = "GET", **kw: Any) -> Any:
    r = httpx.request(method, url, timeout=120, **kw)
    r.raise_for_status()
    return r.json()


def has_op(ctx: Ctx, method: str, path: str) -> bool:
    return (method, path) in apiload.available_operations(ctx.openapi)


def scenario_1(ctx: Ctx) -> dict[str, Any]:
    n = 100
    out: dict[str, Any] = {}
    ours_path = f"/v1/epics?stream=Revenue&limit={n}"
    if has_op(ctx, "get", "/v1/epics"):
        body = check_json(f"http://{HOST}:{PORTS['outcomes']}{ours_path}", headers=AUTH)
        assert len(body["items"]) == n, "ours: wrong page size"
        out["ours"] = run_load(
            ctx,
            "s1-ours",
            http_spec(
                ctx,
                PORTS["outcomes"],
                "bench.requests:get_paths",
                paths=[ours_path],
                headers=AUTH,
            ),
            ["outcomes"],
        )
    else:
        out["ours"] = {"not_available": "GET /v1/epics not implemented yet"}
    st_path = f"/epics?stream=Revenue&limit={n}"
    assert len(check_json(f"http://{HOST}:{PORTS['starlette']}{st_path}")["items"]) == n
    out["starlette"] = run_load(
        ctx,
        "s1-starlette",
        http_spec(ctx, PORTS["starlette"], "bench.requests:get_paths", paths=[st_path]),
        ["starlette"],
    )
    out["sql"] = run_load(
        ctx,
        "s1-sql",
        sql_spec(ctx, "bench.requests:sql_rotate", sql=sql.LIST_EPICS, args=[["Revenue", n]]),
        [],
    )
    if "postgraphile" in ctx.procs:
        body = {"query": PGL_LIST, "variables": {"stream": "Revenue", "first": n}}
        got = check_json(f"http://{HOST}:{PORTS['postgraphile']}/graphql", "POST", json=body)
        assert len(got["data"]["epicsInStream"]["nodes"]) == n, got
        out["postgraphile"] = run_load(
            ctx,
            "s1-postgraphile",
            http_spec(
                ctx,
                PORTS["postgraphile"],
                "bench.requests:post_json",
                path="/graphql",
                bodies=[body],
            ),
            ["postgraphile"],
        )
    return out


def sample_keys(ctx: Ctx, n: int = 1000) -> list[str]:
    assert ctx.ds is not None
    keys = [e["key"] for e in ctx.ds.epics]
    return random.Random(7).sample(keys, min(n, len(keys)))


def scenario_2(ctx: Ctx) -> dict[str, Any]:
    keys = sample_keys(ctx)
    out: dict[str, Any] = {}
    if has_op(ctx, "get", "/v1/epics/{}"):
        got = check_json(f"http://{HOST}:{PORTS['outcomes']}/v1/epics/{keys[0]}", headers=AUTH)
        assert got["key"] == keys[0]
        out["ours"] = run_load(
            ctx,
            "s2-ours",
            http_spec(
                ctx,
                PORTS["outcomes"],
                "bench.requests:get_paths",
                paths=[f"/v1/epics/{k}" for k in keys],
                headers=AUTH,
            ),
            ["outcomes"],
        )
    else:
        out["ours"] = {"not_available": "GET /v1/epics/{ref} not implemented yet"}
    assert check_json(f"http://{HOST}:{PORTS['starlette']}/epics/{keys[0]}")["key"] == keys[0]
    out["starlette"] = run_load(
        ctx,
        "s2-starlette",
        http_spec(
            ctx,
            PORTS["starlette"],
            "bench.requests:get_paths",
            paths=[f"/epics/{k}" for k in keys],
        ),
        ["starlette"],
    )
    out["sql"] = run_load(
        ctx,
        "s2-sql",
        sql_spec(ctx, "bench.requests:sql_rotate", sql=sql.GET_EPIC, args=[[k] for k in keys]),
        [],
    )
    if "postgraphile" in ctx.procs:
        bodies = [{"query": PGL_GET, "variables": {"key": k}} for k in keys]
        got = check_json(f"http://{HOST}:{PORTS['postgraphile']}/graphql", "POST", json=bodies[0])
        assert got["data"]["epicByKey"]["key"] == keys[0], got
        out["postgraphile"] = run_load(
            ctx,
            "s2-postgraphile",
            http_spec(
                ctx,
                PORTS["postgraphile"],
                "bench.requests:post_json",
                path="/graphql",
                bodies=bodies,
            ),
            ["postgraphile"],
        )
    return out


def scenario_3(ctx: Ctx) -> dict[str, Any]:
    assert ctx.ds is not None
    if not has_op(ctx, "post", "/v1/kpis/{}/measurements"):
        return {"ours": {"not_available": "POST /v1/kpis/{slug}/measurements not implemented yet"}}
    slugs = [k["slug"] for k in ctx.ds.kpis]
    spec = http_spec(
        ctx,
        PORTS["outcomes"],
        "bench.requests:bulk_measurements",
        slugs=slugs,
        rows=1000,
        prefix=f"{ctx.prefix}m",
        headers=AUTH,
    )
    spec["expect"] = [200, 201]
    spec["max_requests"] = ctx.args.max_write_requests
    out = {"ours": run_load(ctx, "s3-ours", spec, ["outcomes"])}
    out["ours"]["rows_per_s"] = round(out["ours"]["rps"] * 1000)
    return out


def ours_graphql_bi(ctx: Ctx) -> tuple[str, dict[str, Any]] | None:
    """Our BI query (issue 9), if the outcomes GraphQL schema can answer it."""
    url = f"http://{HOST}:{PORTS['outcomes']}/graphql"
    query = OURS_BI
    body = {"query": query, "variables": {"first": 500}}
    try:
        r = httpx.post(url, json=body, headers=AUTH, timeout=120)
        data = r.json()
    except (httpx.HTTPError, ValueError):
        return None
    if r.status_code != 200 or data.get("errors") or not data.get("data"):
        ctx.log(f"  our GraphQL BI query not answerable yet: {str(data)[:300]}")
        return None
    return query, body


def scenario_4(ctx: Ctx) -> dict[str, Any]:
    n = 500
    out: dict[str, Any] = {}
    bi = ours_graphql_bi(ctx) if has_op(ctx, "post", "/graphql") else None
    if bi is not None:
        body = bi[1]

        def bi_load(label: str, server: str) -> dict[str, Any]:
            spec = http_spec(
                ctx,
                PORTS[server],
                "bench.requests:post_json",
                path="/graphql",
                bodies=[body],
                headers=AUTH,
            )
            return run_load(ctx, label, spec, [server])

        out["ours"] = bi_load("s4-ours", "outcomes")
        # The same query with the answer cache off: every request executed in full.
        PORTS["outcomes_raw"] = env.free_port()
        raw = service_proc(ctx, "outcomes_raw", "outcomes", {"GRAPHQL_ANSWER_CACHE_MB": "0"})
        raw.start()
        ctx.procs["outcomes_raw"] = raw
        try:
            raw.wait_ready()
            out["ours_raw"] = bi_load("s4-ours-raw", "outcomes_raw")
        finally:
            raw.stop()
            ctx.procs.pop("outcomes_raw", None)
    else:
        out["ours"] = {"not_available": "outcomes GraphQL (issue 9) cannot answer the BI query yet"}
    st_path = f"/bi/epics?stream=Revenue&limit={n}"
    assert len(check_json(f"http://{HOST}:{PORTS['starlette']}{st_path}")["items"]) == n
    out["starlette"] = run_load(
        ctx,
        "s4-starlette",
        http_spec(ctx, PORTS["starlette"], "bench.requests:get_paths", paths=[st_path]),
        ["starlette"],
    )
    out["sql"] = run_load(
        ctx,
        "s4-sql",
        sql_spec(ctx, "bench.requests:sql_rotate", sql=sql.BI_EPICS, args=[["Revenue", n]]),
        [],
    )
    if "postgraphile" in ctx.procs:
        body = {"query": PGL_BI, "variables": {"stream": "Revenue", "first": n}}
        got = check_json(f"http://{HOST}:{PORTS['postgraphile']}/graphql", "POST", json=body)
        assert len(got["data"]["epicsInStream"]["nodes"]) == n, str(got)[:500]
        out["postgraphile"] = run_load(
            ctx,
            "s4-postgraphile",
            http_spec(
                ctx,
                PORTS["postgraphile"],
                "bench.requests:post_json",
                path="/graphql",
                bodies=[body],
            ),
            ["postgraphile"],
        )
    return out


def scenario_5(ctx: Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    conc = max(16, ctx.args.concurrency)
    if has_op(ctx, "post", "/webhooks/jira"):
        spec = http_spec(
            ctx,
            PORTS["outcomes"],
            "bench.requests:jira_webhook",
            path="/webhooks/jira",
            prefix=f"{ctx.prefix.upper()}W",
            secret=env.JIRA_SECRET,
        )
        spec.update(concurrency=conc, expect=[200, 202], max_requests=ctx.args.max_write_requests)
        out["ours"] = run_load(ctx, "s5-ours", spec, ["outcomes"])
    else:
        out["ours"] = {"not_available": "POST /webhooks/jira not implemented yet"}
    spec = http_spec(
        ctx,
        PORTS["starlette"],
        "bench.requests:jira_webhook",
        path="/webhooks/jira",
        prefix=f"{ctx.prefix.upper()}S",
    )
    spec.update(concurrency=conc, expect=[202], max_requests=ctx.args.max_write_requests)
    out["starlette"] = run_load(ctx, "s5-starlette", spec, ["starlette"])
    spec = sql_spec(
        ctx, "bench.requests:sql_webhook", sql=sql.INSERT_DELIVERY, prefix=f"{ctx.prefix.upper()}Q"
    )
    spec.update(concurrency=conc, max_requests=ctx.args.max_write_requests)
    out["sql"] = run_load(ctx, "s5-sql", spec, [])
    return out


def timed_trials(ctx: Ctx, fn: Callable[[], Any], trials: int) -> dict[str, Any]:
    times, last = [], None
    for _ in range(trials):
        t0 = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - t0)
    s = sorted(times)
    return {
        "seconds": round(s[len(s) // 2], 3),
        "seconds_min": round(s[0], 3),
        "seconds_max": round(s[-1], 3),
        "trials": [round(t, 3) for t in times],
        "result": last,
    }


ATTRIBUTION_RUN = """
import argparse, asyncio, json, sys
from bench import attribution_run as a
args = argparse.Namespace(epics=int(sys.argv[1]), kpis=int(sys.argv[2]), months=36, profile=False)
print("RESULT " + json.dumps(asyncio.run(a.main(args))))
"""


def scenario_6(ctx: Ctx) -> dict[str, Any]:
    """Ours: the attribution owner's bench/attribution_run.py (its generator fills the
    replica tables of this database, agrees a rule set and times `create_run`: compute +
    store). Floors: the same benefit as one SQL statement over the same replica rows, and
    over the outcomes tables (this run's data set)."""
    out: dict[str, Any] = {}
    as_of = datetime.now(UTC)

    def benefit(statement: str, *args: Any) -> Callable[[], Any]:
        async def go() -> Any:
            conn = await asyncpg.connect(ctx.dsn)
            try:
                return json.loads(await conn.fetchval(statement, *args))
            finally:
                await conn.close()

        return lambda: asyncio.run(go())

    outcomes_floor = benefit(sql.BENEFIT, "2023-01", "2025-12", as_of, Decimal("0.8"))
    outcomes_floor()  # warm-up
    out["sql_outcomes_tables"] = timed_trials(ctx, outcomes_floor, ctx.args.trials)
    ctx.log(f"    s6-sql (outcomes tables): {out['sql_outcomes_tables']}")
    if not (env.BENCH / "attribution_run.py").exists():
        out["ours"] = {"not_available": "bench/attribution_run.py (attribution owner) not there"}
        return out
    proc = subprocess.run(
        [sys.executable, "-c", ATTRIBUTION_RUN, str(ctx.args.epics), str(ctx.args.kpis)],
        cwd=env.ROOT,
        env={**os.environ, "DATABASE_URL": ctx.dsn, "PYTHONPATH": str(env.ROOT)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    result_lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not result_lines:
        out["ours"] = {"error": (proc.stderr or proc.stdout)[-1500:]}
        ctx.log(f"    s6-ours failed: {out['ours']['error'][-400:]}")
        return out
    r = json.loads(result_lines[-1][len("RESULT ") :])
    out["ours"] = {
        "compute_seconds": r.get("compute_s"),
        "store_seconds": r.get("store_s"),
        "total_seconds": r.get("wall_s"),
        "lines": r.get("lines"),
        "peak_rss_mib": r.get("peak_rss_mib"),
        "phases_ms": r.get("phases_ms"),
        "note": "bench/attribution_run.py main() (its own data: replica tables)",
    }
    ctx.log(f"    s6-ours: {out['ours']}")

    async def analyze() -> None:  # the generator just filled the replica tables
        conn = await asyncpg.connect(ctx.dsn)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    asyncio.run(analyze())
    rules = {"currency": "USD", "fx": '{"EUR": "1.08"}', "confidence": Decimal("0.8")}
    replica_floor = benefit(
        sql.BENEFIT_REPLICA,
        "0000-00",
        "9999-99",
        datetime.now(UTC),
        rules["currency"],
        rules["fx"],
        rules["confidence"],
    )
    replica_floor()
    out["sql"] = timed_trials(ctx, replica_floor, ctx.args.trials)
    ctx.log(f"    s6-sql (same replica rows): {out['sql']}")
    return out


def scenario_7(ctx: Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}

    async def floor() -> int:
        conn = await asyncpg.connect(ctx.dsn)
        try:
            after, n = 0, 0
            while True:
                rows = await conn.fetch(sql.CHANGES_PAGE, after, 5000)
                if not rows:
                    return n
                n += len(rows)
                after = rows[-1]["seq"]
        finally:
            await conn.close()

    out["sql"] = timed_trials(ctx, lambda: asyncio.run(floor()), ctx.args.trials)
    total = out["sql"]["result"]
    out["sql"]["changes_per_s"] = round(total / out["sql"]["seconds"]) if total else 0
    ctx.log(f"    s7-sql: {total} changes in {out['sql']['seconds']} s")

    def http_read() -> int:
        n, after = 0, 0
        with httpx.Client(base_url=f"http://{HOST}:{PORTS['outcomes']}", headers=AUTH) as c:
            while True:
                r = c.get("/v1/changes", params={"after": after, "limit": 5000}, timeout=120)
                r.raise_for_status()
                page = r.json()
                if not page["items"]:
                    return n
                n += len(page["items"])
                after = page["next_after"]

    out["ours_feed_read"] = timed_trials(ctx, http_read, ctx.args.trials)
    n = out["ours_feed_read"]["result"]
    out["ours_feed_read"]["changes_per_s"] = round(n / out["ours_feed_read"]["seconds"]) if n else 0
    ctx.log(f"    s7-feed-read (HTTP only): {n} changes in {out['ours_feed_read']['seconds']} s")
    out["ours"] = catch_up(ctx, total)
    return out


def catch_up(ctx: Ctx, total: int) -> dict[str, Any]:
    """Attribution's replica follows the change feed from zero: `POST /v1/sync` on the
    attribution service (background follower off), after emptying the replica tables."""
    url = f"http://{HOST}:{PORTS['attribution']}/v1/sync"
    if "attribution" not in ctx.procs or httpx.get(url, headers=AUTH).status_code == 404:
        return {"not_available": "attribution POST /v1/sync not there yet"}

    async def reset() -> None:
        conn = await asyncpg.connect(ctx.dsn)
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename LIKE 'replica%'"
            )
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            if names:
                await conn.execute(f"TRUNCATE {names}")
        finally:
            await conn.close()

    runs = []
    for _ in range(ctx.args.trials):
        asyncio.run(reset())
        t0 = time.perf_counter()
        r = httpx.post(url, headers=AUTH, timeout=1800)
        seconds = time.perf_counter() - t0
        if r.status_code != 200:
            return {"error": f"POST /v1/sync -> {r.status_code} {r.text[:500]}"}
        body = r.json()
        runs.append((seconds, body))
        ctx.log(f"    s7-ours trial: applied {body.get('applied')} in {seconds:.2f} s")
    runs.sort(key=lambda x: x[0])
    seconds, body = runs[len(runs) // 2]
    applied = int(body.get("applied") or total)
    return {
        "seconds": round(seconds, 3),
        "seconds_min": round(runs[0][0], 3),
        "seconds_max": round(runs[-1][0], 3),
        "changes": applied,
        "changes_per_s": round(applied / seconds) if seconds else 0,
        "pages": body.get("pages"),
        "note": "POST /v1/sync on attribution from an empty replica (median of trials)",
    }


SCENARIOS: dict[int, Callable[[Ctx], dict[str, Any]]] = {
    1: scenario_1,
    2: scenario_2,
    3: scenario_3,
    4: scenario_4,
    5: scenario_5,
    6: scenario_6,
    7: scenario_7,
}


def driver_ceiling(ctx: Ctx) -> dict[str, Any]:
    """How fast the load generator can go: the no-op `/ping` of the Starlette floor."""
    spec = http_spec(ctx, PORTS["starlette"], "bench.requests:get_paths", paths=["/ping"])
    return run_load(ctx, "ceiling-ping", spec, ["starlette"])


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--epics", type=int, default=10_000)
    p.add_argument("--kpis", type=int, default=200)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scenarios", default=",".join(map(str, ALL_SCENARIOS)))
    p.add_argument("--quick", action="store_true", help="short trials (smoke run)")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per trial")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--workers", type=int, default=2, help="server processes per service")
    p.add_argument("--max-requests", type=int, default=1_000_000, help="cap per trial")
    p.add_argument("--max-write-requests", type=int, default=20_000, help="cap per write trial")
    p.add_argument("--load", choices=("api", "sql"), default="api", help="how data is loaded")
    p.add_argument(
        "--api-epics",
        type=int,
        default=None,
        help="only the first N epics (and their rows) through the API, the rest by COPY",
    )
    p.add_argument("--no-postgraphile", action="store_true")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database")
    p.add_argument("--out", default=str(RESULTS / "latest"), help="results path (no suffix)")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.trials = 3.0, 1.0, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in PORTS:
        PORTS[name] = env.free_port()
    chosen = [int(s) for s in args.scenarios.split(",") if s.strip()]
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    db_name = f"ledger_bench_{stamp}"
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    ctx = Ctx(args, db_name, env.dsn_for(db_name), workdir, prefix=f"b{stamp[-6:]}")
    ctx.results = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": env.machine(),
        "config": {
            k: getattr(args, k)
            for k in (
                "epics",
                "kpis",
                "trials",
                "duration",
                "warmup",
                "concurrency",
                "workers",
                "api_epics",
            )
        },
        "scenarios": {},
    }
    ctx.log(f"machine: {ctx.results['machine']}")
    ctx.log(f"database {db_name}; logs and specs in {workdir}")
    code = 0
    try:
        asyncio.run(env.create_database(db_name))
        menv = env.service_env(ctx.db_url)
        ctx.log(env.ledger("migrate", env=menv).strip().replace("\n", "; "))
        start_services(ctx)
        load_data(ctx)
        asyncio.run(prepare_db(ctx))
        start_peers(ctx)
        ctx.results["driver_ceiling"] = driver_ceiling(ctx)
        for n in ORDER:
            if n not in chosen:
                continue
            ctx.log(f"scenario {n}: {report.TITLES[n]}")
            try:
                ctx.results["scenarios"][str(n)] = SCENARIOS[n](ctx)
            except Exception as exc:
                ctx.log(f"  scenario {n} failed: {type(exc).__name__}: {exc}")
                ctx.results["scenarios"][str(n)] = {"error": f"{type(exc).__name__}: {exc}"}
                code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        for proc in reversed(list(ctx.procs.values())):
            proc.stop()
        if not args.keep_db:
            with contextlib.suppress(Exception):
                asyncio.run(env.drop_database(db_name))
        ctx.results["finished_at"] = (
            datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
        report.write(ctx.results, Path(args.out))
        ctx.log(f"wrote {args.out}.json and {args.out}.md")
    return code


if __name__ == "__main__":
    sys.exit(main())
