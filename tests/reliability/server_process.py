"""Run a service as a real uvicorn process on 127.0.0.1 (for crash, shutdown, contract and
concurrency tests). `workers=2` runs two worker processes behind one socket; `log_path`
keeps the server's (JSON) log lines so a test can look for unhandled errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        service: str,
        env: dict[str, str],
        port: int | None = None,
        *,
        workers: int = 1,
        log_path: Path | None = None,
    ) -> None:
        self.service = service
        self.port = port or free_port()
        self.workers = workers
        self.log_path = log_path
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT / "services")}
        if "DATABASE_URL" not in env:  # the test names each service's database itself
            self.env.pop("DATABASE_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> None:
        cmd = [sys.executable, "-m", "ledger_cli", "serve", self.service, "--port", str(self.port)]
        if self.workers != 1:
            cmd += ["--workers", str(self.workers)]
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                cmd,
                env=self.env,
                cwd=ROOT,
                stdout=log or subprocess.DEVNULL,
                stderr=log or subprocess.DEVNULL,
            )
        finally:
            if log:
                log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.service} did not start on {self.url}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)

    def error_lines(self) -> list[str]:
        """Log lines at level error (unhandled exceptions, database errors), if logged."""
        if not self.log_path or not self.log_path.exists():
            return []
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if '"level": "error"' in line or '"level":"error"' in line
        ]
