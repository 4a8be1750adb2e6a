"""Write generated rows straight into the outcomes tables (asyncpg COPY).

Used for the parts of the data set whose REST endpoint has not landed yet, so the floor and
the peers can still be measured on the same rows. Rows loaded this way write no change-log
entries (scenario 7 then only sees what came through the API).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from bench.datagen import Dataset

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _d(s: str | None) -> date | None:
    return date.fromisoformat(s) if s else None


def _n(s: Any) -> Decimal | None:
    return None if s is None else Decimal(str(s))


async def load_kpis(conn: asyncpg.Connection, ds: Dataset) -> None:
    rows = []
    for k in ds.kpis:
        b = ds.baselines[k["slug"]]
        line = {"Revenue": "financial", "Cost": "financial", "CX": "customer"}.get(
            k["stream"], "risk"
        )
        rows.append(
            (
                k["slug"],
                k["name"],
                k["stream"],
                k["unit"],
                k["direction"],
                k["cadence"],
                _n(b["value"]),
                _d(b["as_of"]),
                b["source"],
                b["agreed_by"],
                NOW,
                _n(k["target"]["value"]),
                _d(k["target"]["due"]),
                _n(k["value_per_unit"]["amount"]),
                k["value_per_unit"]["currency"],
                k["value_per_unit"]["per"],
                json.dumps(k["owners"]),
                line,
                1,
                NOW,
                NOW,
            )
        )
    await conn.copy_records_to_table(
        "kpis",
        records=rows,
        columns=[
            "slug",
            "name",
            "stream",
            "unit",
            "direction",
            "cadence",
            "baseline_value",
            "baseline_as_of",
            "baseline_source",
            "baseline_agreed_by",
            "baseline_agreed_at",
            "target_value",
            "target_due",
            "value_per_unit_amount",
            "value_per_unit_currency",
            "value_per_unit_per",
            "owners",
            "scorecard_line",
            "version",
            "created_at",
            "updated_at",
        ],
    )


async def load_epics(conn: asyncpg.Connection, ds: Dataset) -> None:
    rows = []
    for e in ds.epics:
        pc = e.get("planned_cost")
        rows.append(
            (
                uuid.uuid4().hex,
                e["key"],
                e["title"],
                json.dumps(e["streams"]),
                e["status"],
                "manual",
                e["owner"],
                e["team"],
                _n(pc["amount"]) if pc else None,
                pc["currency"] if pc else None,
                _d(e["start_date"]),
                _d(e["target_date"]),
                json.dumps(e["hypothesis"]),
                e["change_type"],
                e["sponsor"],
                "[]",
                "[]",
                1,
                NOW,
                NOW,
            )
        )
    await conn.copy_records_to_table(
        "epics",
        records=rows,
        columns=[
            "id",
            "key",
            "title",
            "streams",
            "status",
            "source",
            "owner",
            "team",
            "planned_cost_amount",
            "planned_cost_currency",
            "start_date",
            "target_date",
            "hypothesis",
            "change_type",
            "sponsor",
            "labels",
            "warnings",
            "version",
            "created_at",
            "updated_at",
        ],
    )
    await conn.execute(
        """INSERT INTO epic_streams (epic_pk, stream)
           SELECT e.pk, s.value FROM epics e, json_array_elements_text(e.streams) s
           ON CONFLICT DO NOTHING"""
    )


async def _pks(conn: asyncpg.Connection) -> tuple[dict[str, int], dict[str, int]]:
    epics = {r["key"]: r["pk"] for r in await conn.fetch("SELECT key, pk FROM epics")}
    kpis = {r["slug"]: r["pk"] for r in await conn.fetch("SELECT slug, pk FROM kpis")}
    return epics, kpis


async def load_contributions(conn: asyncpg.Connection, ds: Dataset) -> None:
    epics, kpis = await _pks(conn)
    rows = [
        (
            epics[key],
            kpis[c["kpi"]],
            _n(c.get("expected_uplift")),
            _d(c.get("expected_by")),
            _n(c.get("claimed_share")),
            1,
            NOW,
            NOW,
        )
        for key, cs in ds.contributions.items()
        for c in cs
    ]
    await conn.copy_records_to_table(
        "contributions",
        records=rows,
        columns=[
            "epic_pk",
            "kpi_pk",
            "expected_uplift",
            "expected_by",
            "claimed_share",
            "version",
            "created_at",
            "updated_at",
        ],
    )


async def load_measurements(conn: asyncpg.Connection, ds: Dataset) -> None:
    _, kpis = await _pks(conn)
    corrected = {(slug, c["period"]) for slug, cs in ds.corrections.items() for c in cs}
    rows = []
    for slug, ms in ds.measurements.items():
        for m in ms:
            sup = NOW if (slug, m["period"]) in corrected else None
            rows.append(
                (kpis[slug], m["period"], "all", _n(m["value"]), m["source"], 1, NOW, sup, "bench")
            )
    for slug, cs in ds.corrections.items():
        for c in cs:
            rows.append(
                (kpis[slug], c["period"], "all", _n(c["value"]), c["source"], 2, NOW, None, "bench")
            )
    await conn.copy_records_to_table(
        "measurements",
        records=rows,
        columns=[
            "kpi_pk",
            "period",
            "segment",
            "value",
            "source",
            "version",
            "recorded_at",
            "superseded_at",
            "recorded_by",
        ],
    )


async def load_scores(conn: asyncpg.Connection, ds: Dataset) -> None:
    epics, _ = await _pks(conn)
    rows = [
        (
            uuid.uuid4().hex,
            epics[key],
            s["period"],
            s["outcome_potential"],
            s["time_to_value"],
            s["risk"],
            s["outcome_potential"] + s["time_to_value"] + s["risk"],
            s["scored_by"],
            s["note"],
            NOW,
        )
        for key, ss in ds.scores.items()
        for s in ss
    ]
    await conn.copy_records_to_table(
        "scores",
        records=rows,
        columns=[
            "id",
            "epic_pk",
            "period",
            "outcome_potential",
            "time_to_value",
            "risk",
            "total",
            "scored_by",
            "note",
            "created_at",
        ],
    )


async def load_decisions(conn: asyncpg.Connection, ds: Dataset) -> None:
    epics, _ = await _pks(conn)
    rows = [
        (
            uuid.uuid4().hex,
            epics[key],
            _d(d["decided_on"]),
            d["decision"],
            d["grade"],
            d["rationale"],
            d["decided_by"],
            NOW,
        )
        for key, ds_ in ds.decisions.items()
        for d in ds_
    ]
    await conn.copy_records_to_table(
        "decisions",
        records=rows,
        columns=[
            "id",
            "epic_pk",
            "decided_on",
            "decision",
            "grade",
            "rationale",
            "decided_by",
            "created_at",
        ],
    )


LOADERS = {
    "kpis": load_kpis,
    "epics": load_epics,
    "contributions": load_contributions,
    "measurements": load_measurements,
    "scores": load_scores,
    "decisions": load_decisions,
}
