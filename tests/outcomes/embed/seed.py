"""Scorecard test data, written straight through the outcomes table models (with change-log
entries, as the domain services write them), so these tests do not depend on the other
domains' HTTP APIs. Returns the keys/slugs the tests look for."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledgerkit.db import Database
from outcomes.changes.service import record_change
from outcomes.models import Contribution, Decision, Epic, EpicStream, Kpi, Measurement, Score

DEMO: dict[str, Any] = {
    "epics": [
        ("PAY-12", "Next-best-offer at checkout", ["Revenue", "CX"], "Payments", "500000.00"),
        ("OPS-3", "Self-service refunds", ["Cost"], "Support", "200000.00"),
        ("SEC-9", "Fraud rules engine", ["Risk"], "Payments", None),
    ],
    "kpis": [
        # slug, name, stream, unit, direction, baseline, target, due, values
        (
            "checkout-conversion",
            "Checkout conversion",
            "Revenue",
            "percent",
            "increase",
            "2.1",
            "3.3",
            date(2026, 9, 30),
            ["2.1", "2.3", "2.5", "2.9", "3.1"],
        ),
        (
            "nps",
            "Net promoter score",
            "CX",
            "score",
            "increase",
            "31",
            "45",
            date(2026, 12, 31),
            ["31", "33", "36", "38", "41"],
        ),
        (
            "fraud-loss-rate",
            "Fraud loss rate",
            "Risk",
            "percent",
            "decrease",
            "0.42",
            "0.25",
            date(2026, 8, 31),
            ["0.42", "0.40", "0.35", "0.31", "0.29"],
        ),
    ],
    "periods": ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"],
}


async def seed_scorecard(url: str) -> dict[str, Any]:
    db = Database(url)
    try:
        async with db.session(write=True) as s:
            epics: dict[str, Epic] = {}
            for key, title, streams, team, cost in DEMO["epics"]:
                e = Epic(
                    key=key,
                    title=title,
                    streams=streams,
                    status="active",
                    team=team,
                    planned_cost_amount=Decimal(cost) if cost else None,
                    planned_cost_currency="USD" if cost else None,
                    start_date=date(2026, 1, 15),
                )
                s.add(e)
                await s.flush()
                for st in streams:
                    s.add(EpicStream(epic_pk=e.pk, stream=st))
                epics[key] = e
                record_change(
                    s,
                    actor="test",
                    entity="epic",
                    entity_id=e.id,
                    action="created",
                    data={"id": e.id, "key": key, "title": title},
                )
            kpis: dict[str, Kpi] = {}
            for slug, name, stream, unit, direction, base, target, due, values in DEMO["kpis"]:
                k = Kpi(
                    slug=slug,
                    name=name,
                    stream=stream,
                    unit=unit,
                    direction=direction,
                    cadence="monthly",
                    baseline_value=Decimal(base),
                    baseline_as_of=date(2025, 12, 31),
                    target_value=Decimal(target),
                    target_due=due,
                    owners=["pricing"],
                )
                s.add(k)
                await s.flush()
                kpis[slug] = k
                for period, v in zip(DEMO["periods"], values, strict=True):
                    s.add(Measurement(kpi_pk=k.pk, period=period, value=Decimal(v)))
            s.add(Contribution(epic_pk=epics["PAY-12"].pk, kpi_pk=kpis["checkout-conversion"].pk))
            s.add(Contribution(epic_pk=epics["PAY-12"].pk, kpi_pk=kpis["nps"].pk))
            s.add(Contribution(epic_pk=epics["SEC-9"].pk, kpi_pk=kpis["fraud-loss-rate"].pk))
            for key, (op, ttv, risk) in {"PAY-12": (5, 4, 3), "OPS-3": (3, 5, 4)}.items():
                s.add(
                    Score(
                        epic_pk=epics[key].pk,
                        period="2026-Q2",
                        outcome_potential=op,
                        time_to_value=ttv,
                        risk=risk,
                        total=op + ttv + risk,
                    )
                )
            s.add(
                Decision(
                    epic_pk=epics["PAY-12"].pk,
                    decided_on=date(2026, 5, 20),
                    decision="scale",
                    grade="on_track",
                    rationale="Conversion ahead of plan",
                )
            )
            s.add(
                Decision(
                    epic_pk=epics["OPS-3"].pk,
                    decided_on=date(2026, 5, 21),
                    decision="course_correct",
                    grade="delayed",
                )
            )
        return {"epic_ids": {k: e.id for k, e in epics.items()}}
    finally:
        await db.dispose()
