"""Run Schemathesis (its CLI) against a service running as a real uvicorn process.

The live `/openapi.json` is the contract under test. Every run uses a fixed seed, a bounded
number of examples per operation and a time box (`--max-time`, in which Schemathesis cycles
its phases: examples, coverage, fuzzing and stateful via the OpenAPI links), so CI time is
predictable. `LEDGER_SCHEMATHESIS_MAX_TIME` / `LEDGER_SCHEMATHESIS_MAX_EXAMPLES` /
`LEDGER_SCHEMATHESIS_SEED` override the bounds for a longer local soak.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import KEYS
from tests.reliability.server_process import ROOT, ServerProcess

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
MAX_TIME = int(os.environ.get("LEDGER_SCHEMATHESIS_MAX_TIME", "70"))
MAX_EXAMPLES = int(os.environ.get("LEDGER_SCHEMATHESIS_MAX_EXAMPLES", "8"))
SEED = int(os.environ.get("LEDGER_SCHEMATHESIS_SEED", "20261125"))


def run_schemathesis(server: ServerProcess, workdir: Path) -> tuple[int, str]:
    """Exit code and output of one time-boxed run against `server`."""
    st = Path(sys.executable).parent / "st"
    cmd = [
        str(st),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {KEYS['admin']}",
        # Every check (built-in and ours in st_hooks.py) runs, except those schemathesis.toml
        # turns off with its reasons; not on the command line, or it would override the
        # per-operation settings there.
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_TIME),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--max-failures",
        "25",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.contract.st_hooks",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        cmd,
        cwd=workdir,  # its cache directory goes here, not into the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=MAX_TIME + 240,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def failure_report(output: str) -> str:
    """The parts of the Schemathesis output that say what failed."""
    parts = []
    for title in ("ERRORS", "FAILURES"):
        pattern = rf"={{3,}} {title} ={{3,}}\n(.*?)(?=\n={{3,}} [A-Z]+ ={{3,}}|\Z)"
        match = re.search(pattern, output, re.S)
        if match:
            parts.append(f"--- {title} ---\n{match.group(1)[:20000]}")
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-4000:]
    parts.append(summary)
    return "\n".join(parts)
