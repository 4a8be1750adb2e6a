"""Profile one scenario's request inside the outcomes app with pyinstrument (no HTTP server).

    .venv/bin/python -m bench.profile --dsn postgresql://postgres@127.0.0.1:5432/DB \
        --what list|get|create|bi|webhook|feed [--n 200] [--cpu] [--concurrency 16]

The database must hold a data set (e.g. `python -m bench.run --keep-db`, or one loaded with
`--load sql`). Requests go through the real ASGI app (middleware, auth, FastAPI, pydantic,
SQLAlchemy, asyncpg) over httpx's ASGITransport; only the socket and uvicorn are skipped.
Writes a text report to stdout and an HTML one to bench/results/profiles/<what>.html.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

import httpx

from bench import env
from bench.requests import jira_body

OUT = env.BENCH / "results" / "profiles"
# Webhook deliveries are new issues (epic creates, as in scenario 5), also on a reused DB.
_RUN = int(time.time() * 10) % 10**7 * 10**4


def request_for(what: str, i: int, keys: list[str]) -> tuple[str, str, dict[str, str], Any]:
    auth = {"Authorization": f"Bearer {env.API_KEY}"}
    if what == "list":
        return "GET", "/v1/epics?stream=Revenue&limit=100", auth, None
    if what == "get":
        return "GET", f"/v1/epics/{keys[i % len(keys)]}", auth, None
    if what == "create":
        body = {"key": f"PROF-{uuid.uuid4().hex[:10]}", "title": "profiled", "streams": ["CX"]}
        return "POST", "/v1/epics", auth, body
    if what == "feed":
        return "GET", "/v1/changes?after=0&limit=5000", auth, None
    if what == "bi":
        from bench.run import OURS_BI as query

        return "POST", "/graphql", auth, {"query": query, "variables": {"first": 500}}
    if what == "webhook":
        raw, delivery = jira_body(_RUN + i, f"PRF{uuid.uuid4().hex[:4].upper()}")
        import hashlib
        import hmac

        sig = hmac.new(env.JIRA_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Atlassian-Webhook-Identifier": delivery,
            "X-Hub-Signature": f"sha256={sig}",
        }
        return "POST", "/webhooks/jira", headers, raw
    raise SystemExit(f"unknown --what {what}")


async def main(args: argparse.Namespace) -> None:
    os.environ.update(env.service_env(args.dsn))
    from pyinstrument import Profiler

    from outcomes.app import create_app

    app = create_app()
    import asyncpg

    conn = await asyncpg.connect(args.dsn)
    keys = [r["key"] for r in await conn.fetch("SELECT key FROM epics ORDER BY pk LIMIT 1000")]
    await conn.close()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):

        async def one(i: int) -> int:
            method, path, headers, body = request_for(args.what, i, keys)
            kw: dict[str, Any] = {"headers": headers}
            if isinstance(body, bytes):
                kw["content"] = body
            elif body is not None:
                kw["json"] = body
            r = await client.request(method, path, **kw)
            if r.status_code >= 400 and i == 0:
                print(f"first request: {r.status_code} {r.text[:500]}")
            return r.status_code

        for i in range(min(20, args.n)):  # warm-up
            await one(i)
        if args.concurrency > 1:
            await concurrent(app, one, args)
            return
        if args.cpu:
            # CPU time only (process_time): on a busy machine wall-clock samples mostly show
            # waiting for a core; this shows where the CPU goes, by cumulative time.
            import cProfile
            import pstats

            cpu = cProfile.Profile(time.process_time)
            t0 = time.perf_counter()
            c0 = time.process_time()
            cpu.enable()
            for i in range(args.n):
                await one(i + 1000)
            cpu.disable()
            elapsed = time.perf_counter() - t0
            used = time.process_time() - c0
            print(
                f"{args.what}: {args.n} requests, {used / args.n * 1000:.2f} ms CPU and "
                f"{elapsed / args.n * 1000:.2f} ms wall each (sequential, in-process)"
            )
            pstats.Stats(cpu).sort_stats(args.sort).print_stats(args.top)
            return
        profiler = Profiler(async_mode="enabled", interval=0.0005)
        t0 = time.perf_counter()
        profiler.start()
        statuses = [await one(i + 1000) for i in range(args.n)]
        profiler.stop()
        elapsed = time.perf_counter() - t0
    print(
        f"{args.what}: {args.n} requests in {elapsed:.2f}s = {elapsed / args.n * 1000:.2f} ms "
        f"each (sequential, in-process); statuses {sorted(set(statuses))}"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.what}.html").write_text(profiler.output_html())
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    summary = {"what": args.what, "n": args.n, "ms_per_request": elapsed / args.n * 1000}
    (OUT / f"{args.what}.json").write_text(json.dumps(summary) + "\n")


async def concurrent(app: Any, one: Any, args: argparse.Namespace) -> None:
    """`--concurrency N`: N clients at once (as the benchmark's load driver sends), so
    concurrent requests can share work (the webhook batcher groups them); CPU per request
    from process_time, with cProfile only if `--cpu`."""
    import cProfile
    import pstats

    counter = iter(range(args.n))
    statuses: list[int] = []

    async def client() -> None:
        for i in counter:
            statuses.append(await one(i + 1000))

    batcher = getattr(app.state, "webhook_batcher", None)
    batches0 = batcher.batches if batcher else 0
    seconds0 = batcher.seconds if batcher else 0.0
    cpu = cProfile.Profile(time.process_time) if args.cpu else None
    t0, c0 = time.perf_counter(), time.process_time()
    if cpu:
        cpu.enable()
    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    if cpu:
        cpu.disable()
    elapsed, used = time.perf_counter() - t0, time.process_time() - c0
    batches = (batcher.batches - batches0) if batcher else 0
    in_batches = (batcher.seconds - seconds0) if batcher else 0.0
    print(
        f"{args.what}: {args.n} requests at concurrency {args.concurrency}: "
        f"{used / args.n * 1000:.2f} ms CPU each ({'with' if cpu else 'without'} cProfile), "
        f"{args.n / elapsed:.0f} requests/s in-process; statuses {sorted(set(statuses))}"
        + (
            f"; {batches} webhook batches (mean size {args.n / batches:.1f}, "
            f"{in_batches / batches * 1000:.1f} ms wall each, busy {in_batches / elapsed:.0%})"
            if batches
            else ""
        )
    )
    if cpu:
        stats = pstats.Stats(cpu).sort_stats(args.sort)
        stats.print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dsn", required=True)
    p.add_argument("--what", required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--cpu", action="store_true", help="cProfile on CPU time instead")
    p.add_argument("--top", type=int, default=45, help="rows of the --cpu report")
    p.add_argument("--concurrency", type=int, default=1, help="clients at once (default 1)")
    p.add_argument("--sort", default="cumulative", help="--cpu report order (e.g. tottime)")
    p.add_argument("--callers", help="--cpu: also who calls functions matching this")
    asyncio.run(main(p.parse_args()))
