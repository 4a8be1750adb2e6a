"""Migrations with data in the database: a fresh database at each service's FIRST revision
(the first release's schema) gets rows through plain SQL; then head → first → head. After
every step the first revision's columns of every seeded row are unchanged, and at head the
app serves the old rows (the stored API key, hashed at the first revision, still works).

tests/ledgerkit/test_migrations.py covers empty databases (base ↔ head) and model drift.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from ledgerkit import migrate
from ledgerkit.db import create_engine, is_sqlite, normalize_url
from ledgerkit.testing import app_client
from tests.conftest import _admin

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 5, 2, 11, 30, tzinfo=UTC)
PLAIN_KEY = "lk_migration-test-key-0123456789"
EPIC_ID = "0f" * 16


def first_revision(cfg: Config) -> str:
    bases = ScriptDirectory.from_config(cfg).get_bases()
    assert len(bases) == 1, bases
    return str(bases[0])


@pytest.fixture
async def fresh_url(
    database_urls: dict[str, str], on_postgres: bool, tmp_path: Path
) -> AsyncIterator[str]:
    """An empty database of its own (PostgreSQL: created for the test; SQLite: a file)."""
    if not on_postgres:
        yield f"sqlite:///{tmp_path}/migrations.db"
        return
    name = f"ledger_mig_{uuid.uuid4().hex[:10]}"
    base = database_urls["outcomes"]
    await _admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(normalize_url(base)).set(database=name).render_as_string(False)
    finally:
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _param(value: Any, sqlite: bool) -> Any:
    """Python values for asyncpg; the text forms SQLAlchemy itself writes for SQLite."""
    if not sqlite:
        return value
    if isinstance(value, datetime):
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


async def _insert(url: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    sqlite = is_sqlite(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for table, values in rows:
                cols = ", ".join(f'"{c}"' for c in values)
                marks = ", ".join(f":{c}" for c in values)
                params = {k: _param(v, sqlite) for k, v in values.items()}
                await conn.execute(text(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'), params)
            if not sqlite:  # explicit keys were inserted: move the serial sequences past them
                for table, values in rows:
                    for col in ("pk", "id"):
                        if isinstance(values.get(col), int):
                            await conn.execute(
                                text(
                                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', "
                                    f'\'{col}\'), (SELECT MAX("{col}") FROM "{table}"))'
                                )
                            )
    finally:
        await engine.dispose()


async def _snapshot(url: str, columns: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """The given columns of every row of the given tables, in a stable order."""
    engine = create_engine(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        async with engine.connect() as conn:
            for table, cols in columns.items():
                listed = ", ".join(f'"{c}"' for c in cols)
                rows = (await conn.execute(text(f'SELECT {listed} FROM "{table}"'))).all()
                out[table] = sorted((tuple(str(v) for v in r) for r in rows), key=repr)
    finally:
        await engine.dispose()
    return out


async def _columns(url: str, tables: list[str]) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def read(sync_conn: Any) -> dict[str, list[str]]:
                insp = inspect(sync_conn)
                return {t: [c["name"] for c in insp.get_columns(t)] for t in tables}

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def _key_row(table: str) -> tuple[str, dict[str, Any]]:
    return (
        table,
        {
            "name": "migrated-key",
            "key_hash": hashlib.sha256(PLAIN_KEY.encode()).hexdigest(),
            "prefix": PLAIN_KEY[:8],
            "scopes": "read+write",
            "created_at": T0,
        },
    )


def _outcomes_rows() -> list[tuple[str, dict[str, Any]]]:
    from outcomes.changes.chain import GENESIS, entry_hash

    epic_data = {"id": EPIC_ID, "key": "MIG-1", "title": "Migrated épic"}
    change_hash = entry_hash(
        seq=1,
        at=T0,
        actor="migration-test",
        entity="epic",
        entity_id=EPIC_ID,
        action="created",
        data=epic_data,
        prev_hash=GENESIS,
    )
    hypothesis = {"statement": "s", "assumptions": ["a"], "proof_plan": {"days": 90}}
    return [
        _key_row("outcomes_api_keys"),
        (
            "epics",
            {
                "pk": 1,
                "id": EPIC_ID,
                "key": "MIG-1",
                "title": "Migrated épic",
                "streams": json.dumps(["Revenue"]),
                "status": "active",
                "source": "api",
                "owner": "pricing-team",
                "team": "Payments",
                "planned_cost_amount": Decimal("500000.00"),
                "planned_cost_currency": "USD",
                "start_date": date(2026, 1, 15),
                "target_date": date(2026, 6, 30),
                "hypothesis": json.dumps(hypothesis),
                "labels": json.dumps(["migrated"]),
                "warnings": json.dumps([]),
                "version": 3,
                "created_at": T0,
                "updated_at": T1,
            },
        ),
        ("epic_streams", {"epic_pk": 1, "stream": "Revenue"}),
        (
            "kpis",
            {
                "pk": 1,
                "slug": "mig-kpi",
                "name": "Migrated KPI",
                "stream": "Revenue",
                "unit": "percent",
                "direction": "increase",
                "cadence": "monthly",
                "baseline_value": Decimal("2.1"),
                "baseline_as_of": date(2026, 1, 31),
                "baseline_source": "BI",
                "baseline_agreed_by": "CFO",
                "baseline_agreed_at": T0,
                "target_value": Decimal("3.4"),
                "target_due": date(2026, 12, 31),
                "value_per_unit_amount": Decimal("8000000.0000"),
                "value_per_unit_currency": "USD",
                "value_per_unit_per": "year",
                "owners": json.dumps(["cfo"]),
                "scorecard_line": "financial",
                "version": 2,
                "created_at": T0,
                "updated_at": T1,
            },
        ),
        *[
            (
                "measurements",
                {
                    "pk": pk,
                    "kpi_pk": 1,
                    "period": period,
                    "segment": "all",
                    "value": Decimal(value),
                    "source": "BI",
                    "version": version,
                    "recorded_at": T0 if version == 1 else T1,
                    "superseded_at": superseded,
                    "recorded_by": "migration-test",
                },
            )
            for pk, period, value, version, superseded in (
                (1, "2026-04", "2.8", 1, T1),
                (2, "2026-04", "2.9", 2, None),
                (3, "2026-05", "3.05", 1, None),
            )
        ],
        (
            "contributions",
            {
                "pk": 1,
                "epic_pk": 1,
                "kpi_pk": 1,
                "expected_uplift": Decimal("0.6"),
                "expected_by": date(2026, 9, 30),
                "claimed_share": Decimal("0.6"),
                "version": 1,
                "created_at": T0,
                "updated_at": T0,
            },
        ),
        (
            "scores",
            {
                "pk": 1,
                "id": "1a" * 16,
                "epic_pk": 1,
                "period": "2026-Q2",
                "outcome_potential": 4,
                "time_to_value": 3,
                "risk": 5,
                "total": 12,
                "scored_by": "council",
                "created_at": T1,
            },
        ),
        (
            "decisions",
            {
                "pk": 1,
                "id": "2b" * 16,
                "epic_pk": 1,
                "decided_on": date(2026, 5, 2),
                "decision": "scale",
                "grade": "green",
                "rationale": "on track",
                "decided_by": "council",
                "created_at": T1,
            },
        ),
        (
            "changes",
            {
                "seq": 1,
                "at": T0,
                "actor": "migration-test",
                "entity": "epic",
                "entity_id": EPIC_ID,
                "action": "created",
                "data": json.dumps(epic_data),
                "prev_hash": GENESIS,
                "hash": change_hash,
            },
        ),
    ]


async def _cycle(url: str, cfg: Config, seed: list[tuple[str, dict[str, Any]]]) -> None:
    """first revision + data → head → first → head, the seeded rows unchanged throughout."""
    first = first_revision(cfg)
    await migrate.upgrade(url, cfg, first)
    assert await migrate.current_revision(url, cfg) == first
    await _insert(url, seed)
    tables = sorted({table for table, _ in seed})
    columns = await _columns(url, tables)  # the first release's columns
    before = await _snapshot(url, columns)
    assert all(before[t] for t in tables)

    head = migrate.head_revision(cfg)
    for target in (head, first, head):
        if target == first:
            await migrate.downgrade(url, cfg, first)
        else:
            await migrate.upgrade(url, cfg, "head")
        assert await migrate.current_revision(url, cfg) == target
        assert await _snapshot(url, columns) == before, f"rows changed at {target}"


async def test_outcomes_first_release_to_head_and_back(fresh_url: str) -> None:
    from outcomes.app import create_app
    from outcomes.db import migrations_config
    from outcomes.settings import OutcomesSettings

    await _cycle(fresh_url, migrations_config(), _outcomes_rows())

    settings = OutcomesSettings(
        database_url=fresh_url, api_keys="", log_level="WARNING", outbound_interval=0
    )
    async with app_client(create_app(settings), key=PLAIN_KEY) as c:
        epic = (await c.get("/v1/epics/MIG-1")).json()
        assert epic["title"] == "Migrated épic" and epic["streams"] == ["Revenue"]
        assert epic["planned_cost"] == {"amount": "500000.00", "currency": "USD"}
        assert (await c.get("/v1/epics", params={"stream": "revenue"})).json()["items"]
        kpi = (await c.get("/v1/kpis/mig-kpi")).json()
        assert kpi["baseline"]["value"] == "2.1" and kpi["target"]["value"] == "3.4"
        values = (await c.get("/v1/kpis/mig-kpi/measurements")).json()["items"]
        assert [(m["period"], m["value"], m["version"]) for m in values] == [
            ("2026-04", "2.9", 2),
            ("2026-05", "3.05", 1),
        ]
        then = await c.get("/v1/kpis/mig-kpi/measurements", params={"as_of": "2026-04-15"})
        assert [m["value"] for m in then.json()["items"]] == [
            "2.8",
            "3.05",
        ]  # before the correction
        links = (await c.get("/v1/epics/MIG-1/contributions")).json()["items"]
        assert [(link["kpi"], link["claimed_share"]) for link in links] == [("mig-kpi", "0.6")]
        verify = (await c.get("/v1/audit/verify")).json()
        assert (verify["ok"], verify["length"]) == (True, 1)
        assert verify["head"] == _outcomes_rows()[-1][1]["hash"]
        # and it takes new writes on top of the migrated rows
        r = await c.post("/v1/epics", json={"key": "MIG-2", "title": "after"})
        assert r.status_code == 201, r.text
        assert (await c.get("/v1/audit/verify")).json()["ok"] is True


async def test_attribution_first_release_to_head_and_back(fresh_url: str) -> None:
    from attribution.app import create_app
    from attribution.db import migrations_config
    from attribution.settings import AttributionSettings

    await _cycle(fresh_url, migrations_config(), [_key_row("attribution_api_keys")])

    settings = AttributionSettings(
        database_url=fresh_url,
        api_keys="",
        log_level="WARNING",
        sync_interval=0,
        outcomes_url="http://127.0.0.1:9",
    )
    async with app_client(create_app(settings), key=PLAIN_KEY) as c:
        assert (await c.get("/v1/sync")).status_code == 200  # the migrated key authenticates
        r = await c.post("/v1/rulesets", json={"name": "after-migration"})
        assert r.status_code == 201, r.text
