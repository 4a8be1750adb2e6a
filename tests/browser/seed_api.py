"""Scorecard data seeded through the outcomes REST API of a running server."""

from __future__ import annotations

from typing import Any

import httpx

KPIS: list[dict[str, Any]] = [
    {
        "slug": "checkout-conversion",
        "name": "Checkout conversion",
        "stream": "Revenue",
        "unit": "percent",
        "direction": "increase",
        "target": {"value": "3.3", "due": "2026-09-30"},
        "baseline": "2.1",
        "values": ["2.1", "2.3", "2.5", "2.9", "3.1"],
    },
    {
        "slug": "nps",
        "name": "Net promoter score",
        "stream": "CX",
        "unit": "score",
        "direction": "increase",
        "target": {"value": "45", "due": "2026-12-31"},
        "baseline": "31",
        "values": ["31", "33", "36", "38", "41"],
    },
    {
        "slug": "fraud-loss-rate",
        "name": "Fraud loss rate",
        "stream": "Risk",
        "unit": "percent",
        "direction": "decrease",
        "target": {"value": "0.25", "due": "2026-08-31"},
        "baseline": "0.42",
        "values": ["0.42", "0.40", "0.35", "0.31", "0.29"],
    },
]
PERIODS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), f"{r.request.method} {r.request.url}: {r.text}"
    body: dict[str, Any] = r.json()
    return body


def seed(client: httpx.Client) -> None:
    """`client` has a key with every scope (baselines need `finance`)."""
    epics = [
        ("PAY-12", "Next-best-offer at checkout", ["Revenue", "CX"], "Payments", "500000.00"),
        ("OPS-3", "Self-service refunds", ["Cost"], "Support", "200000.00"),
        ("SEC-9", "Fraud rules engine", ["Risk"], "Payments", None),
    ]
    for key, title, streams, team, cost in epics:
        body: dict[str, Any] = {
            "key": key,
            "title": title,
            "streams": streams,
            "status": "active",
            "team": team,
            "start_date": "2026-01-15",
        }
        if cost:
            body["planned_cost"] = {"amount": cost, "currency": "USD"}
        _ok(client.post("/v1/epics", json=body))
    for k in KPIS:
        body = {f: k[f] for f in ("slug", "name", "stream", "unit", "direction", "target")}
        _ok(client.post("/v1/kpis", json=body))
        _ok(
            client.put(
                f"/v1/kpis/{k['slug']}/baseline",
                json={
                    "value": k["baseline"],
                    "as_of": "2025-12-31",
                    "source": "BI",
                    "agreed_by": "CFO",
                },
            )
        )
        _ok(
            client.post(
                f"/v1/kpis/{k['slug']}/measurements",
                json=[{"period": p, "value": v} for p, v in zip(PERIODS, k["values"], strict=True)],
            )
        )
    for epic, kpi in (
        ("PAY-12", "checkout-conversion"),
        ("PAY-12", "nps"),
        ("SEC-9", "fraud-loss-rate"),
    ):
        _ok(client.post(f"/v1/epics/{epic}/contributions", json={"kpi": kpi}))
    for epic, (op, ttv, risk) in {"PAY-12": (5, 4, 3), "OPS-3": (3, 5, 4)}.items():
        _ok(
            client.post(
                f"/v1/epics/{epic}/scores",
                json={
                    "period": "2026-Q2",
                    "outcome_potential": op,
                    "time_to_value": ttv,
                    "risk": risk,
                },
            )
        )
    _ok(
        client.post(
            "/v1/epics/PAY-12/decisions",
            json={
                "decided_on": "2026-05-20",
                "decision": "scale",
                "grade": "on_track",
                "rationale": "Conversion ahead of plan",
            },
        )
    )
    _ok(
        client.post(
            "/v1/epics/OPS-3/decisions",
            json={"decided_on": "2026-05-21", "decision": "course_correct", "grade": "delayed"},
        )
    )
