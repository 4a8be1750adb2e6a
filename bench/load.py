"""Closed-loop load generator: N concurrent keep-alive connections, bounded by time and count.

Runs in its own process (`python -m bench.load SPEC.json OUT.json`) so its CPU is visible
and separate from the orchestrator's. Two modes:

- `http`: a raw HTTP/1.1 client on uvloop with httptools' response parser. Requests are
  pre-serialized bytes made by a factory (`module:function`, called once per request index)
  so the driver does as little per request as possible. Only 127.0.0.1 is allowed.
- `sql`: the same loop, but each "request" is one statement through an asyncpg pool of
  `concurrency` connections (the database floor, no HTTP).

Each run: a warm-up phase (discarded), then `trials` phases of `duration` seconds (or
`max_requests`, whichever comes first). Per trial: count, errors, throughput, latency
percentiles. Connections stay open across phases.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    uvloop = None


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class Phase:
    end: float
    remaining: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    first_error: str = ""

    def take(self) -> bool:
        if self.remaining <= 0 or time.perf_counter() >= self.end:
            return False
        self.remaining -= 1
        return True


class HttpConn(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, int]] | None = None
        self.nbytes = 0
        self.status = 0
        self.closed = True

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, self.host, self.port)

    def connection_made(self, transport: Any) -> None:
        # uvloop's transports do not subclass asyncio.Transport: no isinstance check.
        self.transport = transport
        self.closed = False
        self.parser = httptools.HttpResponseParser(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(exc)
            if self.transport is not None:
                self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.nbytes = 0

    def on_body(self, body: bytes) -> None:
        self.nbytes += len(body)

    def on_message_complete(self) -> None:
        keep = self.parser.should_keep_alive()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), self.nbytes))
        if not keep and self.transport is not None:
            self.transport.close()

    async def request(self, raw: bytes, timeout: float) -> tuple[int, int]:
        if self.closed:
            await self.connect()
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await asyncio.wait_for(self.waiter, timeout)


def build_request(
    method: str,
    path: str,
    *,
    host: str,
    port: int,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def load_factory(spec: dict[str, Any]) -> Callable[[int], Any]:
    module, _, name = spec["factory"].partition(":")
    maker = getattr(importlib.import_module(module), name)
    return maker(**spec.get("args", {}))  # type: ignore[no-any-return]


async def run_http(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], int(spec["port"])
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator only targets this machine (127.0.0.1)")
    factory = load_factory(spec)
    expect = set(spec.get("expect", [200]))
    timeout = float(spec.get("timeout", 60))
    counter = itertools.count()
    conns = [HttpConn(host, port) for _ in range(int(spec["concurrency"]))]
    await asyncio.gather(*(c.connect() for c in conns))

    async def worker(conn: HttpConn, phase: Phase) -> None:
        while phase.take():
            raw = factory(next(counter))
            t0 = time.perf_counter()
            try:
                status, nbytes = await conn.request(raw, timeout)
            except Exception as exc:
                phase.errors += 1
                phase.first_error = phase.first_error or f"{type(exc).__name__}: {exc}"
                conn.closed = True
                if conn.transport is not None:
                    conn.transport.close()
                continue
            phase.latencies.append(time.perf_counter() - t0)
            phase.bytes += nbytes
            phase.statuses[str(status)] = phase.statuses.get(str(status), 0) + 1
            if status not in expect:
                phase.errors += 1
                phase.first_error = phase.first_error or f"HTTP {status}"

    try:
        return await drive(spec, lambda phase: [worker(c, phase) for c in conns])
    finally:
        for c in conns:
            if c.transport is not None:
                c.transport.close()


async def run_sql(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    factory = load_factory(spec)  # i -> (sql, args)
    counter = itertools.count()
    n = int(spec["concurrency"])
    pool = await asyncpg.create_pool(spec["dsn"], min_size=n, max_size=n)

    async def worker(phase: Phase) -> None:
        async with pool.acquire() as conn:
            while phase.take():
                sql, args = factory(next(counter))
                t0 = time.perf_counter()
                try:
                    value = await conn.fetchval(sql, *args)
                except Exception as exc:
                    phase.errors += 1
                    phase.first_error = phase.first_error or f"{type(exc).__name__}: {exc}"
                    continue
                phase.latencies.append(time.perf_counter() - t0)
                phase.bytes += len(value) if isinstance(value, str | bytes) else 0
                phase.statuses["ok"] = phase.statuses.get("ok", 0) + 1

    try:
        return await drive(spec, lambda phase: [worker(phase) for _ in range(n)])
    finally:
        await pool.close()


async def drive(spec: dict[str, Any], workers: Callable[[Phase], list[Any]]) -> dict[str, Any]:
    warmup = float(spec.get("warmup", 2.0))
    duration = float(spec.get("duration", 10.0))
    trials = int(spec.get("trials", 3))
    max_requests = int(spec.get("max_requests", 1_000_000))
    warm_requests = int(spec.get("warmup_requests", max_requests))
    results: list[dict[str, Any]] = []
    if warmup > 0:
        phase = Phase(time.perf_counter() + warmup, warm_requests)
        await asyncio.gather(*workers(phase))
    for _ in range(trials):
        t0 = time.perf_counter()
        phase = Phase(t0 + duration, max_requests)
        await asyncio.gather(*workers(phase))
        elapsed = time.perf_counter() - t0
        lat = sorted(phase.latencies)
        n = len(lat)
        results.append(
            {
                "requests": n,
                "errors": phase.errors,
                "first_error": phase.first_error,
                "elapsed_s": round(elapsed, 3),
                "rps": round(n / elapsed, 2) if elapsed > 0 else 0.0,
                "p50_ms": round(percentile(lat, 0.50) * 1000, 2),
                "p95_ms": round(percentile(lat, 0.95) * 1000, 2),
                "p99_ms": round(percentile(lat, 0.99) * 1000, 2),
                "max_ms": round(lat[-1] * 1000, 2) if lat else None,
                "mean_bytes": round(phase.bytes / n) if n else 0,
                "statuses": phase.statuses,
            }
        )
    return {"trials": results, **summarize(results)}


def summarize(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of trials for each figure, and the spread (min–max) of throughput."""
    if not trials:
        return {}

    def med(key: str) -> float:
        values = sorted(t[key] for t in trials if t[key] is not None)
        return values[len(values) // 2] if values else float("nan")

    rps = [t["rps"] for t in trials]
    return {
        "rps": med("rps"),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "p50_ms": med("p50_ms"),
        "p95_ms": med("p95_ms"),
        "p99_ms": med("p99_ms"),
        "errors": sum(t["errors"] for t in trials),
        "requests": sum(t["requests"] for t in trials),
    }


def main(argv: list[str]) -> int:
    spec_path, out_path = argv[1], argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    runner = run_sql if spec.get("kind") == "sql" else run_http
    result = uvloop.run(runner(spec)) if uvloop is not None else asyncio.run(runner(spec))
    with open(out_path, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
