"""CSV export of epics: one row per epic × KPI it contributes to (an epic without KPIs gets
one row with empty KPI columns). Streamed in batches from its own read session, so a large
portfolio never sits in memory. Text cells that a spreadsheet would run as a formula
(starting with `=`, `+`, `-`, `@`, tab or CR) are prefixed with `'`; numbers we format
ourselves are left as they are."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

from ledgerkit.db import Database
from ledgerkit.money import decimal_str
from outcomes.epics import store as epics_store
from outcomes.epics.schemas import EpicFilters
from outcomes.exports import store
from outcomes.models import Kpi

COLUMNS = (
    "key",
    "title",
    "streams",
    "status",
    "team",
    "kpi",
    "unit",
    "baseline",
    "target",
    "due",
    "latest_value",
    "latest_period",
)
BATCH = 500
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(text: str | None) -> str:
    """A text cell that spreadsheets will not evaluate (CSV/formula injection)."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _line(row: Iterable[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(list(row))
    return buf.getvalue()


async def epics_csv(db: Database, filters: EpicFilters) -> AsyncIterator[str]:
    yield _line(COLUMNS)
    after: int | None = None
    while True:
        async with db.session() as session:
            epics = await epics_store.list_page(session, filters, after_pk=after, limit=BATCH)
            if not epics:
                return
            links = await store.kpis_of(session, [e.pk for e in epics])
            latest = await store.latest_values(session, sorted({k.pk for _, k in links}))
        by_epic: dict[int, list[Kpi]] = {}
        for epic_pk, kpi in links:
            by_epic.setdefault(epic_pk, []).append(kpi)
        chunk: list[str] = []
        for e in epics:
            base = [safe(e.key), safe(e.title), ";".join(e.streams or []), e.status, safe(e.team)]
            kpis: list[Kpi] = by_epic.get(e.pk, [])
            if not kpis:
                chunk.append(_line([*base, "", "", "", "", "", "", ""]))
            for kpi in kpis:
                period, value = latest.get(kpi.pk, ("", None))
                due = kpi.target_due.isoformat() if kpi.target_due else ""
                chunk.append(
                    _line(
                        [
                            *base,
                            safe(kpi.slug),
                            kpi.unit,
                            _num(kpi.baseline_value),
                            _num(kpi.target_value),
                            due,
                            _num(value),
                            period,
                        ]
                    )
                )
        yield "".join(chunk)
        after = epics[-1].pk
        if len(epics) < BATCH:
            return


def _num(value: Decimal | None) -> str:
    return decimal_str(value) if isinstance(value, Decimal) else ""
