"""The `ledger` CLI, run as a real subprocess against the test databases."""

from __future__ import annotations

import os
import subprocess
import sys

from ledgerkit.testing import app_client


def ledger(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(urls: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env["OUTCOMES_DATABASE_URL"] = urls["outcomes"]
    env["ATTRIBUTION_DATABASE_URL"] = urls["attribution"]
    env["PYTHONPATH"] = os.pathsep.join(["services", env.get("PYTHONPATH", "")])
    return env


async def test_migrate_is_idempotent(database_urls: dict[str, str]) -> None:
    r = ledger("migrate", env=_env(database_urls))
    assert r.returncode == 0, r.stderr
    assert "outcomes: at revision" in r.stdout
    assert "attribution: at revision" in r.stdout


async def test_keys_create_list_revoke(database_urls: dict[str, str], outcomes_settings) -> None:  # type: ignore[no-untyped-def]
    from outcomes.app import create_app

    env = _env(database_urls)
    r = ledger("keys", "create", "portal-bot", "--scopes", "read,write", env=env)
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert key.startswith("lk_")
    # The same name twice is refused with a clear message and exit code 1.
    again = ledger("keys", "create", "portal-bot", env=env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    listed = ledger("keys", "list", env=env)
    assert listed.returncode == 0
    assert "portal-bot" in listed.stdout
    assert key not in listed.stdout  # keys are stored hashed and never shown again

    settings = outcomes_settings.model_copy(update={"api_keys": ""})
    async with app_client(create_app(settings), key=key) as c:
        r2 = await c.get("/readyz")
        assert r2.status_code == 200
    revoked = ledger("keys", "revoke", "portal-bot", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert ledger("keys", "revoke", "portal-bot", env=env).returncode == 1


def test_bad_usage_exit_code() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ledger_cli", "keys", "create", "x", "--scopes", "root"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": "services"},
        timeout=60,
    )
    assert r.returncode == 1
    assert "unknown scope" in r.stderr
