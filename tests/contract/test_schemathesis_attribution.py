"""Schemathesis against the attribution service (a real uvicorn process, following a real
outcomes process so `POST /v1/sync` works): no server errors, responses conform to the
OpenAPI document, authentication is enforced, every error is problem+json."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import API_KEYS_SETTING, KEYS
from tests.contract.runner import failure_report, run_schemathesis
from tests.reliability.server_process import ServerProcess

pytestmark = pytest.mark.slow


def test_attribution_contract(database_urls: dict[str, str], tmp_path: Path) -> None:
    outcomes = ServerProcess(
        "outcomes",
        {
            "OUTCOMES_DATABASE_URL": database_urls["outcomes"],
            "LEDGER_API_KEYS": API_KEYS_SETTING,
            "LOG_LEVEL": "WARNING",
            "OUTBOUND_INTERVAL": "0",
            "ATTRIBUTION_URL": "http://127.0.0.1:9",
        },
    )
    outcomes.start()
    server = ServerProcess(
        "attribution",
        {
            "ATTRIBUTION_DATABASE_URL": database_urls["attribution"],
            "LEDGER_API_KEYS": API_KEYS_SETTING,
            "LOG_LEVEL": "WARNING",
            "OUTCOMES_URL": outcomes.url,
            "OUTCOMES_API_KEY": KEYS["read"],
            "SYNC_INTERVAL": "0",  # the follower runs when POST /v1/sync asks
        },
        log_path=tmp_path / "attribution.log",
    )
    try:
        server.start()
        code, output = run_schemathesis(server, tmp_path)
    finally:
        server.stop()
        outcomes.stop()
    errors = server.error_lines()
    assert code == 0, failure_report(output) + "\n" + "\n".join(errors[:20])
    assert not errors, "the server logged errors:\n" + "\n".join(errors[:20])
