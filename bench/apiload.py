"""Load the generated data set through the public REST API (where the endpoint exists).

Each part (KPIs, epics, contributions, measurements, scores, decisions) goes through its
endpoint if the running service's OpenAPI document has it, else straight into the tables
(`bench.sqlload`). Requests run 8 at a time over keep-alive connections.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
import httpx

from bench import sqlload
from bench.datagen import Dataset

ENDPOINTS = {
    "kpis": [("post", "/v1/kpis"), ("put", "/v1/kpis/{}/baseline")],
    "epics": [("post", "/v1/epics")],
    "contributions": [("post", "/v1/epics/{}/contributions")],
    "measurements": [("post", "/v1/kpis/{}/measurements")],
    "scores": [("post", "/v1/epics/{}/scores")],
    "decisions": [("post", "/v1/epics/{}/decisions")],
}
ORDER = ["kpis", "epics", "contributions", "measurements", "scores", "decisions"]


def available_operations(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    ops = set()
    for path, item in openapi.get("paths", {}).items():
        norm = re.sub(r"\{[^}]+\}", "{}", path)
        for method in item:
            ops.add((method.lower(), norm))
    return ops


def plan(openapi: dict[str, Any]) -> dict[str, str]:
    """part -> "api" or "sql"."""
    ops = available_operations(openapi)
    return {part: "api" if all(e in ops for e in ENDPOINTS[part]) else "sql" for part in ORDER}


class LoadError(RuntimeError):
    pass


async def _run_all(
    client: httpx.AsyncClient,
    calls: Iterable[tuple[str, str, Any]],
    *,
    concurrency: int = 8,
    ok: tuple[int, ...] = (200, 201),
) -> int:
    queue: asyncio.Queue[tuple[str, str, Any]] = asyncio.Queue()
    n = 0
    for c in calls:
        queue.put_nowait(c)
        n += 1
    failures: list[str] = []

    async def worker() -> None:
        while not queue.empty() and len(failures) < 5:
            method, url, body = queue.get_nowait()
            for attempt in range(5):
                r = await client.request(method, url, json=body)
                if r.status_code in ok:
                    break
                if r.status_code in (409, 503) and attempt < 4 and "overlap" not in r.text:
                    await asyncio.sleep(0.05 * (attempt + 1))  # lock contention: retry
                    continue
                failures.append(f"{method} {url} -> {r.status_code} {r.text[:400]}")
                break

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise LoadError("; ".join(failures))
    return n


async def load(
    base_url: str,
    api_key: str,
    dsn: str,
    ds: Dataset,
    modes: dict[str, str],
    log: Any,
    api_epics: int | None = None,
) -> dict[str, Any]:
    """Loads `ds`; with `api_epics`, only the first N epics (and their rows) go through the
    API and the rest straight into the tables (to bound the load time on a slow machine)."""
    via_api, via_sql = ds.split(api_epics if api_epics is not None else len(ds.epics))
    headers = {"Authorization": f"Bearer {api_key}"}
    timings: dict[str, Any] = {}
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=120, limits=limits
    ) as client:
        conn = await asyncpg.connect(dsn)
        try:
            for part in ORDER:
                t0 = time.perf_counter()
                mode = modes[part]
                if mode == "sql":
                    await sqlload.LOADERS[part](conn, ds)
                    timings[part] = {"mode": "sql", "rows": ds.counts().get(part, 0)}
                else:
                    count = await API_LOADERS[part](client, via_api)
                    timings[part] = {"mode": "api", "requests": count}
                    rest = via_sql.counts().get(part, 0)
                    if rest:
                        await sqlload.LOADERS[part](conn, via_sql)
                        timings[part].update(mode="api+sql", sql_rows=rest)
                elapsed = time.perf_counter() - t0
                timings[part]["seconds"] = round(elapsed, 2)
                log(f"  loaded {part:<13} {timings[part]}")
        finally:
            await conn.close()
    return timings


async def _kpis(client: httpx.AsyncClient, ds: Dataset) -> int:
    n = await _run_all(client, (("POST", "/v1/kpis", k) for k in ds.kpis))
    n += await _run_all(
        client, (("PUT", f"/v1/kpis/{s}/baseline", b) for s, b in ds.baselines.items())
    )
    return n


async def _epics(client: httpx.AsyncClient, ds: Dataset) -> int:
    return await _run_all(client, (("POST", "/v1/epics", e) for e in ds.epics))


async def _contributions(client: httpx.AsyncClient, ds: Dataset) -> int:
    calls = (
        ("POST", f"/v1/epics/{key}/contributions", c)
        for key, cs in ds.contributions.items()
        for c in cs
    )
    return await _run_all(client, calls)


async def _measurements(client: httpx.AsyncClient, ds: Dataset) -> int:
    n = await _run_all(
        client,
        (("POST", f"/v1/kpis/{slug}/measurements", ms) for slug, ms in ds.measurements.items()),
    )
    corrections = ((s, cs) for s, cs in ds.corrections.items() if cs)
    n += await _run_all(
        client, (("POST", f"/v1/kpis/{s}/measurements", cs) for s, cs in corrections)
    )
    return n


async def _scores(client: httpx.AsyncClient, ds: Dataset) -> int:
    calls = (("POST", f"/v1/epics/{k}/scores", s) for k, ss in ds.scores.items() for s in ss)
    return await _run_all(client, calls)


async def _decisions(client: httpx.AsyncClient, ds: Dataset) -> int:
    calls = (("POST", f"/v1/epics/{k}/decisions", d) for k, dd in ds.decisions.items() for d in dd)
    return await _run_all(client, calls)


API_LOADERS: dict[str, Callable[[httpx.AsyncClient, Dataset], Awaitable[int]]] = {
    "kpis": _kpis,
    "epics": _epics,
    "contributions": _contributions,
    "measurements": _measurements,
    "scores": _scores,
    "decisions": _decisions,
}
