"""Schemathesis against the outcomes service (a real uvicorn process on the test database):
no server errors, every response conforms to the OpenAPI document (status codes, content
types, bodies, headers), authentication is enforced, and every error is problem+json."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import API_KEYS_SETTING
from tests.contract.runner import failure_report, run_schemathesis
from tests.reliability.server_process import ServerProcess

pytestmark = pytest.mark.slow


def test_outcomes_contract(database_urls: dict[str, str], tmp_path: Path) -> None:
    server = ServerProcess(
        "outcomes",
        {
            "OUTCOMES_DATABASE_URL": database_urls["outcomes"],
            "LEDGER_API_KEYS": API_KEYS_SETTING,
            "LOG_LEVEL": "WARNING",
            "OUTBOUND_INTERVAL": "0",  # subscriptions are created, nothing is sent out
            "ATTRIBUTION_URL": "http://127.0.0.1:9",  # the scorecard's benefits: unavailable
            "EMBED_SECRET": "contract-test-embed-secret",
        },
        log_path=tmp_path / "outcomes.log",
    )
    server.start()
    try:
        code, output = run_schemathesis(server, tmp_path)
    finally:
        server.stop()
    errors = server.error_lines()
    assert code == 0, failure_report(output) + "\n" + "\n".join(errors[:20])
    assert not errors, "the server logged errors:\n" + "\n".join(errors[:20])
