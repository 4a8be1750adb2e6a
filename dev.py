#!/usr/bin/env python3
"""Bootstrap for developers and CI — needs only Python 3.11+ (standard library).

    python3 dev.py up      # venv + install + migrate + demo data + both services
    python3 dev.py test    # venv + install + ruff + mypy + contracts + the whole test suite

`test` runs on SQLite; with DATABASE_URL=postgresql://… it runs on that PostgreSQL server
(a fresh database is created for the run and dropped afterwards).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed"


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def must(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    code = run(*cmd, env=env)
    if code != 0:
        sys.exit(code)


def install() -> None:
    """Create .venv and install the locked dependencies (skipped when nothing changed)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before anything checks
        sys.exit(f"Python 3.11+ is needed; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    must(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    must(PY, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[dev]")
    STAMP.write_text(digest)


def up(args: list[str]) -> int:
    install()
    return run(BIN / "ledger", "up", *args)


def test(args: list[str]) -> int:
    install()
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    must(BIN / "ruff", "check", "services", "tests", "bench", "dev.py")
    must(BIN / "ruff", "format", "--check", "services", "tests", "bench", "dev.py")
    must(BIN / "mypy", "services")
    where = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"running the test suite on {where}", flush=True)
    code = run(PY, "-m", "pytest", "-n", "2", "--dist", "loadfile", *args, env=env)
    if code == 5:
        print("pytest collected no tests: that is a failure, not a pass", flush=True)
        return 1
    return code


def main() -> int:
    commands = {"up": up, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
