"""`ledger serve` as a real process: SIGTERM lets the in-flight request finish, runs the
lifespan shutdown and exits 0 (what Kubernetes and compose rely on when they stop a pod)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BOUND = 40  # seconds; uvicorn's graceful timeout is 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        PYTHONPATH=str(ROOT / "services"),
        OUTCOMES_DATABASE_URL=f"sqlite:///{tmp_path}/outcomes.db",
        ATTRIBUTION_DATABASE_URL=f"sqlite:///{tmp_path}/attribution.db",
        LEDGER_API_KEYS="shutdown-test-key:read+write",
        LOG_JSON="true",
        LOG_LEVEL="INFO",
    )
    r = subprocess.run(
        [sys.executable, "-m", "ledger_cli", "migrate", "--service", "outcomes"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return env


def _serve(env: dict[str, str], cwd: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ledger_cli", "serve", "outcomes", "--port", str(port), *extra],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError("the server did not answer /healthz")


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=10)  # reaps it and closes the pipe


def _events(stderr: str) -> list[dict[str, object]]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _wait_in_flight(port: int) -> None:
    """Until the server is handling our request (the /metrics request counts itself too)."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        for line in metrics.splitlines():
            if line.startswith("ledger_http_requests_in_flight{") and float(line.split()[-1]) >= 2:
                return
        time.sleep(0.05)
    raise AssertionError("the POST never became in flight")


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_finishes_the_in_flight_request_then_exits_0(
    sqlite_env: dict[str, str], tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    proc, port = _serve(sqlite_env, tmp_path)
    cleanup.append(proc)
    body = json.dumps({"key": "SHUT-1", "title": "Created while the server stops"}).encode()
    head = (
        f"POST /v1/epics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Authorization: Bearer shutdown-test-key\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-ID: in-flight-1\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        # The request is in flight: headers and half the body are in, the app waits for more.
        conn.sendall(head + body[: len(body) // 2])
        _wait_in_flight(port)
        proc.send_signal(signal.SIGTERM)
        # The server stops accepting new connections…
        deadline = time.monotonic() + BOUND
        while not _refused(port):
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.05)
        assert proc.poll() is None  # …but is still finishing our request.
        conn.sendall(body[len(body) // 2 :])
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = conn.recv(65536)
            if not chunk:
                break
            response += chunk
    status_line = response.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 201"), response[:500]
    _, stderr = proc.communicate(timeout=BOUND)
    code = proc.returncode
    assert code == 0, stderr
    events = _events(stderr)
    requests = [e for e in events if e.get("event") == "request"]
    assert any(e.get("request_id") == "in-flight-1" and e.get("status") == 201 for e in requests)
    # The lifespan shutdown ran (hooks, traces flushed, pool closed) after the request.
    names = [e.get("event") for e in events]
    assert "shutdown_complete" in names
    assert names.index("shutdown_complete") > names.index("request")

    # The epic was committed.
    r = subprocess.run(
        [sys.executable, "-m", "ledger_cli", "export", "epics", "--format", "json"],
        env=sqlite_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert [e["key"] for e in json.loads(r.stdout)] == ["SHUT-1"]


def test_sigterm_with_several_workers_exits_0(
    sqlite_env: dict[str, str], tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    proc, port = _serve(sqlite_env, tmp_path, "--workers", "2")
    cleanup.append(proc)
    r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    assert r.status_code == 200
    # Both workers are up once each has answered (new connections spread across them; the
    # pool gauges carry the worker's pid).
    pids: set[str] = set()
    deadline = time.monotonic() + BOUND
    while len(pids) < 2:
        assert time.monotonic() < deadline, f"only workers {pids} answered"
        with httpx.Client() as fresh:
            metrics = fresh.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        pids.update(re.findall(r'ledger_db_pool_size\{.*pid="(\d+)"', metrics))
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=BOUND)
    code = proc.returncode
    assert code == 0, stderr
    done = [e for e in _events(stderr) if e.get("event") == "shutdown_complete"]
    assert len(done) == 2  # every worker ran its lifespan shutdown


def test_connections_opened_at_once_spread_across_workers(
    sqlite_env: dict[str, str], tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    """Each worker listens with its own socket (SO_REUSEPORT): keep-alive connections a
    client opens at once are spread by the kernel, not all taken by whichever worker was
    idle (with a shared socket one worker could hold all of them for their whole life)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("per-worker sockets are used on Linux only")
    proc, port = _serve(sqlite_env, tmp_path, "--workers", "2")
    cleanup.append(proc)
    # Wait until both workers listen (the first answers /healthz before the second is up).
    deadline = time.monotonic() + BOUND
    seen: set[str] = set()
    while len(seen) < 2:
        assert time.monotonic() < deadline, f"only workers {seen} answered"
        with httpx.Client() as fresh:
            seen.update(_pids(fresh.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text))
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(32)]
    try:
        for c in clients:  # each client opens its connection now and keeps it
            c.get("/healthz", timeout=5)
        per_connection = [_pids(c.get("/metrics", timeout=5).text) for c in clients]
    finally:
        for c in clients:
            c.close()
    owners = [p.pop() for p in per_connection if len(p) == 1]
    assert len(owners) == 32
    counts = sorted(owners.count(pid) for pid in set(owners))
    # Both workers hold connections (all 32 on one: chance 2 in 2^32 with even hashing).
    assert len(counts) == 2 and counts[0] >= 4, counts
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=BOUND)
    assert proc.returncode == 0


def _pids(metrics: str) -> set[str]:
    """The worker that answered /metrics (its pool gauges carry its pid)."""
    return set(re.findall(r'ledger_db_pool_size\{.*pid="(\d+)"', metrics))
