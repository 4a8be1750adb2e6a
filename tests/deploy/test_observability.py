"""Operational metrics (pool, webhook inbox, attribution runs, replica lag), the actor in the
access log, and optional OpenTelemetry: on the real apps over httpx."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from ledgerkit import observability
from ledgerkit.testing import app_client
from tests.conftest import KEYS


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "pid"))
            out[(s.name, labels)] = s.value
    return out


async def _metrics(
    client: httpx.AsyncClient,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200
    return _samples(r.text)


@pytest.mark.parametrize("service", ["outcomes", "attribution"])
async def test_pool_gauges(service: str, outcomes_client: Any, attribution_client: Any) -> None:
    client = outcomes_client if service == "outcomes" else attribution_client
    await client.get("/readyz")  # opens a pooled connection
    m = await _metrics(client)
    size = m[("ledger_db_pool_size", (("service", service),))]
    assert size >= 1
    assert m[("ledger_db_pool_checked_out", (("service", service),))] >= 0
    assert m[("ledger_db_pool_checked_in", (("service", service),))] >= 1
    assert m[("ledger_db_pool_overflow", (("service", service),))] >= 0


async def test_webhook_inbox_counts_by_status(outcomes_settings: Any) -> None:
    from outcomes.app import create_app

    app = create_app(outcomes_settings)
    async with app_client(app, key=KEYS["read"]) as client:
        m = await _metrics(client)
        # Empty table: every status is there, at zero.
        for status in observability.WEBHOOK_STATUSES:
            assert (
                m[("ledger_webhook_deliveries", (("service", "outcomes"), ("status", status)))] == 0
            )
        async with app.state.db.session(write=True) as session:
            for i, status in enumerate(["processed", "processed", "failed", "received"]):
                await session.execute(
                    text(
                        "INSERT INTO webhook_deliveries (id, source, status, headers, body, "
                        "attempts, received_at) VALUES (:id, 'jira', :status, '{}', :body, 0, "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"id": f"{i:032x}", "status": status, "body": b"{}"},
                )
        app.state.observability._inbox_fetched = 0.0  # skip the few-seconds scrape cache
        m = await _metrics(client)
    by_status = {
        dict(labels)["status"]: v
        for (name, labels), v in m.items()
        if name == "ledger_webhook_deliveries"
    }
    assert by_status["processed"] == 2
    assert by_status["failed"] == 1
    assert by_status["received"] == 1
    assert by_status["stale"] == 0


async def test_attribution_has_no_inbox_and_outcomes_no_runs(
    outcomes_client: Any, attribution_client: Any
) -> None:
    o = (await outcomes_client.get("/metrics")).text
    a = (await attribution_client.get("/metrics")).text
    assert "ledger_webhook_deliveries" in o and "ledger_webhook_deliveries" not in a
    assert "ledger_attribution_run_duration_seconds" in a
    assert "ledger_replica_lag_changes" in a


async def test_run_duration_and_replica_lag_helpers(attribution_settings: Any) -> None:
    from attribution.app import create_app

    app = create_app(attribution_settings)
    async with app_client(app, key=KEYS["read"]) as client:
        observability.observe_run_duration(app, 0.7)
        observability.observe_run_duration(app, 3.0, status="failed")
        observability.set_replica_lag(app, 42, seconds=12.5)
        m = await _metrics(client)
        svc = ("service", "attribution")
        assert (
            m[("ledger_attribution_run_duration_seconds_count", (svc, ("status", "succeeded")))]
            == 1
        )
        assert (
            m[("ledger_attribution_run_duration_seconds_sum", (svc, ("status", "failed")))] == 3.0
        )
        assert m[("ledger_replica_lag_changes", (svc,))] == 42
        assert m[("ledger_replica_lag_seconds", (svc,))] == 12.5
        observability.set_replica_lag(app, 0)  # caught up: the age drops to 0 too
        m = await _metrics(client)
        assert m[("ledger_replica_lag_changes", (svc,))] == 0
        assert m[("ledger_replica_lag_seconds", (svc,))] == 0


async def test_metrics_survive_a_broken_scrape_hook(outcomes_settings: Any) -> None:
    from outcomes.app import create_app

    app = create_app(outcomes_settings)

    async def broken(_app: Any) -> None:
        raise RuntimeError("boom")

    app.state.observability.scrape_hooks.insert(0, broken)
    async with app_client(app) as client:
        r = await client.get("/metrics")
    assert r.status_code == 200
    assert "ledger_db_pool_size" in r.text


def _log_lines(err: str) -> list[dict[str, Any]]:
    lines = []
    for line in err.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_access_log_has_request_id_and_actor(
    outcomes_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from outcomes.app import create_app

    app = create_app(outcomes_settings.model_copy(update={"log_level": "INFO"}))
    async with app_client(app, key=KEYS["read"]) as client:
        r = await client.get("/v1/changes", headers={"X-Request-ID": "req-obs-1"})
        assert r.status_code == 200, r.text
    lines = [
        entry for entry in _log_lines(capsys.readouterr().err) if entry.get("event") == "request"
    ]
    mine = [entry for entry in lines if entry.get("request_id") == "req-obs-1"]
    assert mine, lines
    assert mine[0]["actor"].startswith("env:")
    assert mine[0]["status"] == 200
    assert mine[0]["route"] == "/v1/changes"


async def test_otel_endpoint_without_sdk_warns_and_runs(
    outcomes_settings: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcomes.app import create_app

    # Whether or not the optional SDK is installed here, make it unimportable.
    for name in [*sys.modules, "opentelemetry.sdk", "opentelemetry.exporter"]:
        if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
            monkeypatch.setitem(sys.modules, name, None)
    settings = outcomes_settings.model_copy(
        update={"otel_exporter_otlp_endpoint": "http://127.0.0.1:9/v1/traces"}
    )
    app = create_app(settings)
    async with app_client(app) as client:
        assert (await client.get("/healthz")).status_code == 200
    warnings = [
        e for e in _log_lines(capsys.readouterr().err) if e.get("event") == "otel_unavailable"
    ]
    assert warnings and warnings[0]["level"] == "warning"
    assert app.state.observability.tracer_provider is None


def test_app_imports_no_opentelemetry_sdk() -> None:
    code = (
        "import sys; from outcomes.app import create_app; from attribution.app import create_app "
        "as c2; create_app(); c2(); "
        "bad = [m for m in sys.modules if m.startswith('opentelemetry.sdk')]; "
        "assert not bad, bad; print('ok')"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": "services", "PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING"},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


async def test_otel_traces_reach_the_collector(
    outcomes_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the `otel` extra installed: request spans are exported over OTLP/HTTP to the
    endpoint (a tiny receiver on 127.0.0.1 stands in for the collector) and flushed on
    shutdown."""
    pytest.importorskip("opentelemetry.sdk.trace", reason="the optional `otel` extra")
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    pytest.importorskip("opentelemetry.instrumentation.fastapi")
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[tuple[str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("content-length", "0"))
            received.append((self.path, self.rfile.read(n)))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    mp = pytest.MonkeyPatch()
    mp.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)  # the exporter reads it itself
    try:
        from outcomes.app import create_app

        settings = outcomes_settings.model_copy(update={"otel_exporter_otlp_endpoint": endpoint})
        app = create_app(settings)
        assert app.state.observability.tracer_provider is not None
        async with app_client(app, key=KEYS["read"]) as client:
            assert (await client.get("/v1/changes")).status_code == 200
        # Leaving the lifespan flushed the spans.
    finally:
        mp.undo()
        server.shutdown()
        server.server_close()
    paths = [p for p, _ in received]
    assert "/v1/traces" in paths
    payload = b"".join(body for p, body in received if p == "/v1/traces")
    assert b"ledger-outcomes" in payload  # service.name
    assert b"/v1/changes" in payload  # the request span
