"""`ledger export epics`, `ledger import epics`, `ledger audit verify`: run as real
subprocesses against the test database (SQLite or PostgreSQL), checked through the API."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from ledgerkit.db import create_engine

HEADER = "key,title,streams,status,team,owner,planned_cost,currency,start_date,target_date"


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
    env["COLUMNS"] = "200"  # rich tables on stderr: no wrapping inside cells
    return env


async def _epics(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    r = await client.get("/v1/epics", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _write(tmp_path: Path, body: str, name: str = "epics.csv") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


GOOD = (
    HEADER
    + "\n"
    + "PAY-12,Next-best-offer at checkout,Revenue;cx,active,Payments,pricing-team,"
    + "500000.00,USD,2026-01-15,2026-06-30\n"
    + 'OPS-7,"Cut cloud spend, phase 1","Cost, Risk",,Platform,,120000,EUR,,\n'
    + "RISK-1,Untagged epic,,,,,,,,\n"
)


async def test_import_then_export(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    env = _env(database_urls)
    r = ledger("import", "epics", str(_write(tmp_path, GOOD)), env=env)
    assert r.returncode == 0, r.stderr
    assert "imported 3 epic(s)" in r.stdout
    by_key = {e["key"]: e for e in await _epics(outcomes_client)}
    assert set(by_key) == {"PAY-12", "OPS-7", "RISK-1"}
    pay = by_key["PAY-12"]
    assert pay["streams"] == ["Revenue", "CX"]  # canonical spelling, as the API does
    assert pay["status"] == "active"
    assert pay["planned_cost"] == {"amount": "500000.00", "currency": "USD"}
    assert pay["target_date"] == "2026-06-30"
    assert by_key["OPS-7"]["title"] == "Cut cloud spend, phase 1"
    assert by_key["OPS-7"]["streams"] == ["Cost", "Risk"]
    assert by_key["OPS-7"]["status"] == "proposed"  # empty cell: the API's default
    assert by_key["RISK-1"]["streams"] == []
    # Every created epic is in the change log with the import's actor.
    changes = (await outcomes_client.get("/v1/changes", params={"after": 0})).json()["items"]
    assert [c["actor"] for c in changes] == ["cli:import"] * 3

    # CSV export: the import columns first, then the server-made ones.
    r = ledger("export", "epics", "--format", "csv", env=env)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert r.stdout.splitlines()[0].startswith(HEADER + ",id,")
    assert [row["key"] for row in rows] == ["PAY-12", "OPS-7", "RISK-1"]
    assert rows[0]["streams"] == "Revenue;CX"
    assert rows[0]["planned_cost"] == "500000.00" and rows[0]["currency"] == "USD"
    assert rows[0]["id"] == pay["id"]
    # …and what it exports validates as an import (round trip).
    from ledger_cli.data_commands import _parse

    parsed = _parse(r.stdout.split("\n", 1)[0].split(",id,")[0] + "\n" + _import_cells(rows))
    assert not parsed.errors and len(parsed.rows) == 3

    # JSON export to a file: what the API returns.
    out = tmp_path / "epics.json"
    r = ledger("export", "epics", "--format", "json", "--output", str(out), env=env)
    assert r.returncode == 0, r.stderr
    exported = json.loads(out.read_text())
    api = {e["key"]: e for e in await _epics(outcomes_client)}
    assert {e["key"]: e for e in exported} == api
    assert not (tmp_path / "epics.json.partial").exists()


def _import_cells(rows: list[dict[str, str]]) -> str:
    cols = HEADER.split(",")
    buf = io.StringIO()
    w = csv.writer(buf)
    for row in rows:
        w.writerow([row[c] for c in cols])
    return buf.getvalue()


async def test_export_empty_and_archived(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    env = _env(database_urls)
    r = ledger("export", "epics", "--format", "json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []
    r = ledger("export", "epics", env=env)  # csv is the default
    assert r.returncode == 0 and r.stdout.strip() == HEADER + "," + ",".join(
        ["id", "source", "version", "created_at", "updated_at", "archived_at"]
    )
    for key in ("A-1", "A-2"):
        resp = await outcomes_client.post("/v1/epics", json={"key": key, "title": key})
        assert resp.status_code == 201, resp.text
    assert (await outcomes_client.delete("/v1/epics/A-2")).status_code == 204
    r = ledger("export", "epics", "--format", "json", env=env)
    assert [e["key"] for e in json.loads(r.stdout)] == ["A-1"]
    r = ledger("export", "epics", "--format", "json", "--include-archived", env=env)
    archived = {e["key"]: e["archived_at"] for e in json.loads(r.stdout)}
    assert archived["A-1"] is None and archived["A-2"]


async def test_import_with_bad_rows_imports_nothing(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = (
        HEADER
        + "\n"
        + "GOOD-1,Fine,Revenue,,,,,,,\n"  # line 2: valid
        + "bad key,No,Moonshot,weird,,,12.5,,2026-05-01,2026-01-01\n"  # line 3: many problems
        + ",Missing key,,,,,,,,\n"  # line 4
        + "GOOD-1,Twice,,,,,,,,\n"  # line 5: duplicate of line 2
        + "GOOD-2,Bad date,,,,,,,2026-02-30,\n"  # line 6
    )
    r = ledger("import", "epics", str(_write(tmp_path, body)), env=_env(database_urls))
    assert r.returncode == 1
    err = r.stderr
    assert "nothing was imported" in err
    assert "4 of 5 row(s) are invalid" in err
    for needle in ("streams", "status", "currency", "key", "duplicate key (also on line 2)"):
        assert needle in err, needle
    report_lines = {line.split("│")[1].strip() for line in err.splitlines() if "│" in line}
    assert {"3", "4", "5", "6"} <= report_lines
    assert "2" not in report_lines
    assert await _epics(outcomes_client, include_archived=True) == []
    changes = (await outcomes_client.get("/v1/changes", params={"after": 0})).json()["items"]
    assert changes == []


async def test_import_refuses_keys_already_taken(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    resp = await outcomes_client.post("/v1/epics", json={"key": "OPS-7", "title": "exists"})
    assert resp.status_code == 201
    r = ledger("import", "epics", str(_write(tmp_path, GOOD)), env=_env(database_urls))
    assert r.returncode == 1
    assert "an epic has this key" in r.stderr and "OPS-7" in r.stderr
    assert [e["key"] for e in await _epics(outcomes_client)] == ["OPS-7"]


async def test_import_header_and_usage_errors(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    env = _env(database_urls)
    r = ledger("import", "epics", str(_write(tmp_path, "key,name\nA-1,x\n")), env=env)
    assert r.returncode == 1
    assert "missing column(s) title" in r.stderr and "unknown column(s) name" in r.stderr
    r = ledger("import", "epics", str(tmp_path / "nope.csv"), env=env)
    assert r.returncode == 2  # bad usage: no such file
    r = ledger("export", "epics", "--format", "xml", env=env)
    assert r.returncode == 2
    # A header-only file imports nothing and succeeds.
    r = ledger("import", "epics", str(_write(tmp_path, HEADER + "\n", "empty.csv")), env=env)
    assert r.returncode == 0 and "imported 0 epic(s)" in r.stdout
    assert await _epics(outcomes_client) == []


async def test_audit_verify_ok_then_broken(
    database_urls: dict[str, str], outcomes_client: httpx.AsyncClient
) -> None:
    env = _env(database_urls)
    r = ledger("audit", "verify", env=env)
    assert r.returncode == 0, r.stderr
    assert "ok: 0 change(s)" in r.stdout
    for key in ("C-1", "C-2", "C-3"):
        assert (await outcomes_client.post("/v1/epics", json={"key": key, "title": key})).is_success
    r = ledger("audit", "verify", "--json", env=env)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["ok"] is True and result["length"] == 3 and len(result["head"]) == 64

    # Someone edits history behind the ledger's back.
    engine = create_engine(database_urls["outcomes"])
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE changes SET actor = 'mallory' WHERE seq = 2"))
    finally:
        await engine.dispose()
    r = ledger("audit", "verify", env=env)
    assert r.returncode == 1
    assert "breaks at seq 2" in r.stderr
    r = ledger("audit", "verify", "--json", env=env)
    assert r.returncode == 1
    result = json.loads(r.stdout)
    assert result["ok"] is False and result["first_broken_seq"] == 2 and result["length"] == 1


def test_audit_verify_without_a_database_fails_cleanly(tmp_path: Path) -> None:
    env = _env(
        {
            "outcomes": "postgresql://nobody@127.0.0.1:1/none",
            "attribution": f"sqlite:///{tmp_path}/a.db",
        }
    )
    env["DB_CONNECT_TIMEOUT"] = "2"
    r = ledger("audit", "verify", env=env)
    assert r.returncode == 1
    assert "could not verify the change log" in r.stderr
    assert "Traceback" not in r.stderr
