"""Bulk-load a portfolio straight into the outcomes tables (fast enough for 500+ epics).

Used where an API-built fixture would take minutes (statement counting at scale, the
benchmark); the REST/GraphQL write paths have their own tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from outcomes.models import Contribution, Decision, Epic, EpicStream, Kpi, Measurement

STREAMS = ("Revenue", "Cost", "Risk", "CX")


@dataclass(frozen=True)
class Portfolio:
    epics: int
    kpis: int
    months: int


def month(i: int, start: int = 2023) -> str:
    return f"{start + i // 12}-{i % 12 + 1:02d}"


async def seed(
    engine: AsyncEngine,
    *,
    epics: int,
    kpis: int,
    months: int = 36,
    kpis_per_epic: int = 2,
    decisions_per_epic: int = 1,
    revenue_every: int = 2,
) -> Portfolio:
    """Epics (every `revenue_every`-th is Revenue, others rotate), KPIs, `kpis_per_epic`
    contributions each, `months` monthly values per KPI, decisions."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Kpi),
            [
                {
                    "slug": f"kpi-{k}",
                    "name": f"KPI {k}",
                    "stream": "Revenue",
                    "unit": "percent",
                    "direction": "increase",
                    "cadence": "monthly",
                    "owners": ["bi"],
                    "scorecard_line": "financial",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for k in range(kpis)
            ],
        )
        kpi_pks = list((await conn.execute(select(Kpi.pk).order_by(Kpi.pk))).scalars())
        rows: list[dict[str, Any]] = []
        for e in range(epics):
            streams = ["Revenue"] if e % revenue_every == 0 else [STREAMS[1 + e % 3]]
            rows.append(
                {
                    "id": uuid.uuid4().hex,
                    "key": f"EP-{e}",
                    "title": f"Epic {e}",
                    "streams": streams,
                    "status": "active",
                    "source": "manual",
                    "team": f"team-{e % 7}",
                    "planned_cost_amount": Decimal("100000.00"),
                    "planned_cost_currency": "USD",
                    "start_date": date(2025, 1, 1),
                    "labels": [],
                    "warnings": [],
                    "version": 1,
                    "created_at": now + timedelta(seconds=e),
                    "updated_at": now,
                }
            )
        for i in range(0, len(rows), 2000):
            await conn.execute(insert(Epic), rows[i : i + 2000])
        epic_rows = (await conn.execute(select(Epic.pk, Epic.streams).order_by(Epic.pk))).all()
        await _chunked(
            conn,
            EpicStream,
            [{"epic_pk": r.pk, "stream": s} for r in epic_rows for s in r.streams],
        )
        await _chunked(
            conn,
            Contribution,
            [
                {
                    "epic_pk": r.pk,
                    "kpi_pk": kpi_pks[(i * kpis_per_epic + j) % len(kpi_pks)],
                    "expected_uplift": Decimal("0.5"),
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, r in enumerate(epic_rows)
                for j in range(min(kpis_per_epic, len(kpi_pks)))
            ],
        )
        await _chunked(
            conn,
            Measurement,
            [
                {
                    "kpi_pk": pk,
                    "period": month(m),
                    "segment": "all",
                    "value": Decimal(f"{2 + (m % 10) / 10}"),
                    "source": "bi",
                    "version": 1,
                    "recorded_at": now,
                }
                for pk in kpi_pks
                for m in range(months)
            ],
        )
        await _chunked(
            conn,
            Decision,
            [
                {
                    "id": uuid.uuid4().hex,
                    "epic_pk": r.pk,
                    "decided_on": date(2025, 6, 1) + timedelta(days=d),
                    "decision": "continue",
                    "grade": "on_track",
                    "created_at": now + timedelta(days=d),
                }
                for r in epic_rows
                for d in range(decisions_per_epic)
            ],
        )
    return Portfolio(epics=epics, kpis=kpis, months=months)


async def _chunked(conn: Any, model: Any, rows: list[dict[str, Any]], size: int = 2000) -> None:
    for i in range(0, len(rows), size):
        await conn.execute(insert(model), rows[i : i + size])
