"""Quick local benchmark of the BI query (not a test; issue 10's suite is the real one).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m tests.outcomes.graphql.bench_bi [--seed] [--workers 2]

Seeds (with --seed) a `gql_bench` database: 10,000 epics (half Revenue), 200 KPIs, 2 KPIs
per epic, 36 monthly values per KPI, one decision per epic. Starts uvicorn (uvloop,
httptools) and drives "500 Revenue epics with their KPIs and each KPI's last 12
measurements" at concurrency 8 with `bench.load`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ledgerkit import migrate
from ledgerkit.db import create_engine, normalize_url
from outcomes.db import migrations_config

KEY = "bench-read-key"
# The shape bench/run.py (issue 10) uses.
QUERY = (
    "{epics(filter:{stream:Revenue},first:500){edges{node{"
    "id key title status team streams contributions{edges{node{claimedShare "
    'kpi{slug name unit direction measurements(segment:"all",last:12){edges{node{'
    "period value}}}}}}}}} pageInfo{hasNextPage endCursor}}}"
)


async def _drive(port: int, concurrency: int, duration: float) -> dict[str, float]:
    """Closed loop: `concurrency` keep-alive connections, one request in flight each."""
    body = json.dumps({"query": QUERY}).encode()
    raw = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            writer.write(raw)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if b" 200 " not in status:
                errors += 1
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "requests": len(latencies),
        "errors": errors,
    }


async def _prepare(base: str, fresh: bool) -> str:
    url = make_url(normalize_url(base))
    admin = create_engine(url.set(database="postgres").render_as_string(False))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        if fresh:
            await conn.execute(text('DROP DATABASE IF EXISTS "gql_bench" WITH (FORCE)'))
        exists = (
            await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'gql_bench'"))
        ).first()
        if not exists:
            await conn.execute(text('CREATE DATABASE "gql_bench"'))
    await admin.dispose()
    db_url = url.set(database="gql_bench").render_as_string(False)
    if fresh:
        await migrate.upgrade(db_url, migrations_config())
        from tests.outcomes.graphql.seed import seed

        engine = create_engine(db_url)
        t0 = time.perf_counter()
        await seed(engine, epics=10_000, kpis=200, months=36, revenue_every=2)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        await engine.dispose()
        print(f"seeded in {time.perf_counter() - t0:.1f}s")
    return db_url


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    db_url = asyncio.run(_prepare(base, args.seed))
    env = {
        **os.environ,
        "OUTCOMES_DATABASE_URL": db_url,
        "LEDGER_API_KEYS": f"{KEY}:read",
        "LOG_LEVEL": "WARNING",
        "OUTBOUND_INTERVAL": "0",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "outcomes.app:create_app",
            "--factory",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{args.port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        r = httpx.post(
            f"http://127.0.0.1:{args.port}/graphql",
            json={"query": QUERY},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
        body = r.json()
        assert r.status_code == 200 and not body.get("errors"), r.text[:500]
        edges = body["data"]["epics"]["edges"]
        print(f"response: {len(r.content)} bytes, {len(edges)} epics")
        asyncio.run(_drive(args.port, args.concurrency, 3))  # warm-up
        for _ in range(args.trials):
            print(asyncio.run(_drive(args.port, args.concurrency, args.duration)))
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
