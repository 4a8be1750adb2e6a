"""The database goes away under load: the service answers 503 problem+json quickly (and
readiness fails) instead of hanging, and recovers by itself when the database returns."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy.engine import make_url

from ledgerkit.db import normalize_url
from ledgerkit.testing import app_client
from tests.conftest import KEYS
from tests.reliability.tcp_proxy import TcpProxy


@pytest.fixture
async def proxy(on_postgres: bool):  # type: ignore[no-untyped-def]
    if not on_postgres:
        pytest.skip("a network outage needs a network database (PostgreSQL)")
    p = TcpProxy()
    await p.start()
    yield p
    await p.stop()


def _via_proxy(url: str, port: int) -> str:
    return make_url(normalize_url(url)).set(host="127.0.0.1", port=port).render_as_string(False)


async def _wait_until(client: httpx.AsyncClient, path: str, status: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(path)
        if r.status_code == status:
            return
        assert time.monotonic() < deadline, f"{path} still {r.status_code}: {r.text}"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
async def test_outage_gives_503_then_recovers(
    outcomes_settings, proxy: TcpProxy, mode: str
) -> None:  # type: ignore[no-untyped-def]
    from outcomes.app import create_app

    settings = outcomes_settings.model_copy(
        update={
            "database_url": _via_proxy(outcomes_settings.database_url, proxy.port),
            "db_connect_timeout": 1.0,
            "db_pool_timeout": 2.0,
        }
    )
    async with app_client(create_app(settings), key=KEYS["admin"]) as c:
        assert (await c.get("/v1/changes")).status_code == 200
        assert (await c.get("/readyz")).status_code == 200

        proxy.cut(mode)
        started = time.monotonic()
        results = await asyncio.gather(*(c.get("/v1/changes") for _ in range(8)))
        elapsed = time.monotonic() - started
        for r in results:
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["retry-after"]
        assert elapsed < 20, "requests must fail fast, not hang"
        ready = await c.get("/readyz")
        assert ready.status_code == 503
        assert (await c.get("/healthz")).status_code == 200  # the process itself is alive
        # A streamed export reads its first batch before answering: 503, not a cut 200.
        export = await c.get("/v1/exports/epics.csv")
        assert export.status_code == 503, export.text[:300]
        assert export.headers["content-type"].startswith("application/problem+json")

        proxy.restore()
        await _wait_until(c, "/readyz", 200, timeout=15)
        await _wait_until(c, "/v1/changes", 200, timeout=15)
