"""kill -9 the outcomes service mid-load: every write that got a 2xx survives, the hash
chain verifies and the change feed has no gap."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx

from tests.conftest import API_KEYS_SETTING, KEYS
from tests.reliability.server_process import ServerProcess


async def _writer(
    client: httpx.AsyncClient, prefix: str, acked: list[str], stop: asyncio.Event
) -> None:
    for i in itertools.count():
        if stop.is_set():
            return
        key = f"{prefix}-{i}"
        try:
            r = await client.post("/v1/epics", json={"key": key, "title": f"Crash {key}"})
        except httpx.HTTPError:
            return  # the server died under us: this write was never acknowledged
        if r.status_code == 201:
            acked.append(key)


async def test_kill_9_loses_no_acknowledged_write(database_urls: dict[str, str]) -> None:
    env = {"OUTCOMES_DATABASE_URL": database_urls["outcomes"], "LEDGER_API_KEYS": API_KEYS_SETTING}
    server = ServerProcess("outcomes", env)
    server.start()
    acked: list[str] = []
    stop = asyncio.Event()
    headers = {"Authorization": f"Bearer {KEYS['admin']}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as c:
            writers = [asyncio.create_task(_writer(c, f"CR{w}", acked, stop)) for w in range(6)]
            deadline = time.monotonic() + 20
            while len(acked) < 60 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            server.kill9()  # mid-load: requests are in flight right now
            stop.set()
            await asyncio.gather(*writers)
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill9()
    assert len(acked) >= 20

    restarted = ServerProcess("outcomes", env, port=server.port)
    restarted.start()
    try:
        async with httpx.AsyncClient(base_url=restarted.url, headers=headers, timeout=10) as c:
            for key in acked:
                r = await c.get(f"/v1/epics/{key}")
                assert r.status_code == 200, f"acknowledged epic {key} is missing"
            verify = (await c.get("/v1/audit/verify")).json()
            assert verify["ok"] is True, verify
            seqs: list[int] = []
            after = 0
            while True:
                page = (await c.get("/v1/changes", params={"after": after, "limit": 1000})).json()
                if not page["items"]:
                    break
                seqs += [item["seq"] for item in page["items"]]
                after = page["next_after"]
            assert seqs == list(range(1, len(seqs) + 1)), "the change feed has a gap"
            assert len(seqs) >= len(acked)
    finally:
        # uvicorn re-raises the SIGTERM it handled after a graceful shutdown: -15 is clean.
        assert restarted.stop() in (0, -15)
