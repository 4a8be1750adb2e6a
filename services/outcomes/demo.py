"""Demo data for the outcomes service (`ledger seed-demo`).

Seeds through the public HTTP API, in process, so every row passes the same validation
as a client's would and every write lands in the change log. The actor is a stored key
named `demo-seed`, created for the run and revoked at the end (its plain key is never shown).

Idempotent: every step creates only what is missing (409 = already there), measurements
are only loaded for KPIs that have none, and scores/decisions only for epics without any.
A second run changes nothing.

The checkout-conversion figures reproduce attribution.md's worked example: baseline 2.1,
target 3.3, 8,000,000 USD per point per year; PAY-12 claims 0.6 (planned cost
500,000.00 USD), WEB-7 claims 0.4; 2026-04 = 2.5, 2026-05 = 2.9 (first recorded as 2.8,
then corrected), 2026-06 = 3.4. WEB-7's planned cost (650,000.00) is above its cumulative
benefit in the example, so it has no payback period yet, as the example says.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update

from ledgerkit.auth import SCOPES, create_stored_key, generate_key, hash_key, revoke_stored_key
from ledgerkit.db import Database
from ledgerkit.testing import app_client
from outcomes.app import create_app
from outcomes.models import api_keys
from outcomes.settings import OutcomesSettings

DEMO_ACTOR = "demo-seed"

MONTHS = [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]

KPIS: list[dict[str, Any]] = [
    {
        "slug": "checkout-conversion",
        "name": "Checkout conversion rate",
        "stream": "Revenue",
        "unit": "percent",
        "direction": "increase",
        "cadence": "monthly",
        "target": {"value": "3.3", "due": "2026-06-30"},
        "value_per_unit": {"amount": "8000000", "currency": "USD", "per": "year"},
        "owners": ["marketing", "digital-it"],
    },
    {
        "slug": "cost-per-ticket",
        "name": "Support cost per ticket",
        "stream": "Cost",
        "unit": "currency",
        "direction": "decrease",
        "cadence": "monthly",
        "target": {"value": "9.00", "due": "2026-12-31"},
        "value_per_unit": {"amount": "600000", "currency": "USD", "per": "year"},
        "owners": ["customer-support"],
    },
    {
        "slug": "fraud-loss-rate",
        "name": "Fraud losses as % of GMV",
        "stream": "Risk",
        "unit": "percent",
        "direction": "decrease",
        "cadence": "monthly",
        "target": {"value": "0.25", "due": "2026-09-30"},
        "value_per_unit": {"amount": "2000000", "currency": "USD", "per": "year"},
        "owners": ["risk-office"],
    },
    {
        "slug": "nps",
        "name": "Net promoter score",
        "stream": "CX",
        "unit": "score",
        "direction": "increase",
        "cadence": "quarterly",
        "target": {"value": "40", "due": "2026-12-31"},
        "value_per_unit": {"amount": "150000", "currency": "EUR", "per": "year"},
        "owners": ["cx-team", "marketing"],
    },
    {
        "slug": "deploy-lead-time",
        "name": "Lead time for changes",
        "unit": "seconds",
        "direction": "decrease",
        "cadence": "monthly",
        "target": {"value": "86400", "due": "2026-12-31"},
        "owners": ["platform"],
        "scorecard_line": "operational",
    },
]

BASELINES: dict[str, dict[str, Any]] = {
    "checkout-conversion": {"value": "2.1", "as_of": "2025-12-31", "source": "GA4 funnel"},
    "cost-per-ticket": {"value": "12.40", "as_of": "2025-12-31", "source": "Zendesk + GL"},
    "fraud-loss-rate": {"value": "0.42", "as_of": "2025-12-31", "source": "Chargeback ledger"},
    "nps": {"value": "31", "as_of": "2025-12-31", "source": "Quarterly NPS survey"},
    "deploy-lead-time": {"value": "259200", "as_of": "2025-12-31", "source": "DORA dashboard"},
}

MEASUREMENTS: dict[str, list[str]] = {
    "checkout-conversion": [
        "2.05",
        "2.12",
        "2.08",
        "2.1",
        "2.15",
        "2.2",
        "2.1",
        "2.18",
        "2.2",
        "2.5",
        "2.8",
        "3.4",
    ],
    "cost-per-ticket": [
        "12.9",
        "12.7",
        "12.6",
        "12.5",
        "12.4",
        "12.3",
        "12.1",
        "11.6",
        "11.2",
        "10.8",
        "10.1",
        "9.7",
    ],
    "fraud-loss-rate": [
        "0.45",
        "0.44",
        "0.43",
        "0.43",
        "0.42",
        "0.41",
        "0.40",
        "0.37",
        "0.35",
        "0.33",
        "0.31",
        "0.30",
    ],
    "deploy-lead-time": [
        "280000",
        "270000",
        "265000",
        "259200",
        "250000",
        "240000",
        "200000",
        "180000",
        "150000",
        "120000",
        "100000",
        "90000",
    ],
}
QUARTERLY: dict[str, dict[str, str]] = {
    "nps": {"2025-Q3": "30", "2025-Q4": "31", "2026-Q1": "33", "2026-Q2": "36"},
}
# The correction: checkout-conversion 2026-05 was first loaded as 2.8, then fixed to 2.9.
CORRECTION = ("checkout-conversion", "2026-05", "2.9", "GA4 funnel (bot traffic removed)")

HYPOTHESIS = {
    "statement": "Next-best-offer lifts checkout conversion from 2.1% to 3.3% by the end of "
    "Q2 for returning customers.",
    "for_whom": "returning customers",
    "economic_logic": "Each conversion point is worth 8M USD a year; ≈ 9.5M USD run-rate.",
    "assumptions": ["offer catalogue is complete", "traffic stays flat"],
    "risks": ["sales adoption"],
    "leading_indicators": ["offer click-through"],
    "lagging_indicators": ["checkout conversion"],
    "proof_plan": {
        "days": 90,
        "stop_if": "no lift in the treatment group after 60 days",
        "scale_if": "+0.3 points in the treatment group after 60 days",
    },
}


def _usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


EPICS: list[dict[str, Any]] = [
    {
        "key": "PAY-12",
        "title": "Next-best-offer at checkout",
        "streams": ["Revenue", "CX"],
        "status": "active",
        "owner": "pricing-team",
        "team": "Payments",
        "planned_cost": _usd("500000.00"),
        "start_date": "2026-01-15",
        "target_date": "2026-06-30",
        "change_type": "transformative",
        "sponsor": "CCO",
        "hypothesis": HYPOTHESIS,
        "labels": ["outcome-revenue", "outcome-cx", "kpi-checkout-conversion"],
    },
    {
        "key": "WEB-7",
        "title": "One-page checkout",
        "streams": ["Revenue"],
        "status": "active",
        "owner": "web-team",
        "team": "Web",
        "planned_cost": _usd("650000.00"),
        "start_date": "2026-02-01",
        "target_date": "2026-06-30",
        "change_type": "adaptive",
    },
    {
        "key": "SUP-3",
        "title": "Self-service returns portal",
        "streams": ["Cost", "CX"],
        "status": "active",
        "owner": "support-eng",
        "team": "Customer Support",
        "planned_cost": _usd("220000.00"),
        "start_date": "2026-01-05",
        "target_date": "2026-09-30",
        "change_type": "adaptive",
    },
    {
        "key": "OPS-9",
        "title": "Chatbot ticket triage",
        "streams": ["Cost"],
        "status": "active",
        "owner": "support-eng",
        "team": "Customer Support",
        "planned_cost": _usd("120000.00"),
        "start_date": "2026-02-15",
        "target_date": "2026-08-31",
    },
    {
        "key": "RSK-4",
        "title": "Real-time fraud rules engine",
        "streams": ["Risk"],
        "status": "active",
        "owner": "risk-eng",
        "team": "Risk",
        "planned_cost": _usd("400000.00"),
        "start_date": "2026-01-10",
        "target_date": "2026-07-31",
        "change_type": "transformative",
    },
    {
        "key": "CX-21",
        "title": "Onboarding redesign",
        "streams": ["CX"],
        "status": "active",
        "owner": "design",
        "team": "Growth",
        "planned_cost": _usd("180000.00"),
        "start_date": "2026-01-20",
        "target_date": "2026-12-31",
    },
    {
        "key": "PLAT-1",
        "title": "CI/CD pipeline consolidation",
        "streams": [],
        "status": "active",
        "owner": "platform",
        "team": "Platform",
        "planned_cost": _usd("90000.00"),
        "start_date": "2026-01-05",
        "target_date": "2026-06-30",
    },
    {
        "key": "LOY-5",
        "title": "Loyalty points at checkout",
        "streams": ["Revenue"],
        "status": "proposed",
        "owner": "pricing-team",
        "team": "Payments",
        "planned_cost": _usd("300000.00"),
    },
]

CONTRIBUTIONS: list[tuple[str, dict[str, Any]]] = [
    ("PAY-12", {"kpi": "checkout-conversion", "claimed_share": "0.6",
                "expected_uplift": "0.8", "expected_by": "2026-06-30"}),
    ("WEB-7", {"kpi": "checkout-conversion", "claimed_share": "0.4",
               "expected_uplift": "0.4", "expected_by": "2026-06-30"}),
    ("SUP-3", {"kpi": "cost-per-ticket", "claimed_share": "0.7",
               "expected_uplift": "2.5", "expected_by": "2026-09-30"}),
    ("OPS-9", {"kpi": "cost-per-ticket", "claimed_share": "0.3",
               "expected_uplift": "1.0", "expected_by": "2026-08-31"}),
    ("RSK-4", {"kpi": "fraud-loss-rate", "claimed_share": "1",
               "expected_uplift": "0.15", "expected_by": "2026-07-31"}),
    ("CX-21", {"kpi": "nps", "claimed_share": "0.8",
               "expected_uplift": "6", "expected_by": "2026-12-31"}),
    ("SUP-3", {"kpi": "nps", "claimed_share": "0.2", "expected_uplift": "2"}),
    ("PLAT-1", {"kpi": "deploy-lead-time", "expected_uplift": "150000"}),
    ("LOY-5", {"kpi": "checkout-conversion", "expected_uplift": "0.2"}),
]  # fmt: skip

SCORES: list[tuple[str, dict[str, Any]]] = [
    ("PAY-12", {"period": "2026-Q2", "outcome_potential": 5, "time_to_value": 4, "risk": 4,
                "scored_by": "value-council", "note": "Treatment group ahead of plan."}),
    ("WEB-7", {"period": "2026-Q2", "outcome_potential": 4, "time_to_value": 4, "risk": 3,
               "scored_by": "value-council"}),
    ("OPS-9", {"period": "2026-Q2", "outcome_potential": 2, "time_to_value": 2, "risk": 3,
               "scored_by": "value-council", "note": "Bot deflection below 10%."}),
]  # fmt: skip

DECISIONS: list[tuple[str, dict[str, Any]]] = [
    ("PAY-12", {"decided_on": "2026-06-15", "decision": "scale", "grade": "on_track",
                "rationale": "Conversion at 3.4% in June; roll out to all markets.",
                "decided_by": "value-council"}),
    ("OPS-9", {"decided_on": "2026-06-15", "decision": "pause", "grade": "delayed",
               "rationale": "Deflection too low; revisit after the returns portal lands.",
               "decided_by": "value-council"}),
]  # fmt: skip


class SeedError(RuntimeError):
    pass


def _check(r: httpx.Response, *ok: int) -> httpx.Response:
    if r.status_code not in ok:
        raise SeedError(f"{r.request.method} {r.request.url.path} → {r.status_code}: {r.text}")
    return r


async def _demo_key(db: Database) -> str:
    """A fresh plain key for the stored key `demo-seed` (created or re-keyed, un-revoked)."""
    key = generate_key()
    async with db.session(write=True) as s:
        found = (
            await s.execute(select(api_keys.c.id).where(api_keys.c.name == DEMO_ACTOR))
        ).first()
        if found is None:
            await create_stored_key(s, api_keys, DEMO_ACTOR, frozenset(SCOPES), key)
        else:
            await s.execute(
                update(api_keys)
                .where(api_keys.c.id == found.id)
                .values(
                    key_hash=hash_key(key),
                    prefix=key[:8],
                    scopes="+".join(sorted(SCOPES)),
                    revoked_at=None,
                )
            )
    return key


async def _seed_kpis(c: httpx.AsyncClient) -> None:
    for body in KPIS:
        _check(await c.post("/v1/kpis", json=body), 201, 409)
        kpi = _check(await c.get(f"/v1/kpis/{body['slug']}"), 200).json()
        if kpi["baseline"] is None:
            baseline = {**BASELINES[body["slug"]], "agreed_by": "FP&A (J. Rivera)"}
            _check(await c.put(f"/v1/kpis/{body['slug']}/baseline", json=baseline), 200)


async def _seed_epics(c: httpx.AsyncClient) -> None:
    for body in EPICS:
        _check(await c.post("/v1/epics", json=body), 201, 409)
    for key, body in CONTRIBUTIONS:
        _check(await c.post(f"/v1/epics/{key}/contributions", json=body), 201, 409)


async def _seed_measurements(c: httpx.AsyncClient) -> None:
    series: dict[str, dict[str, str]] = {
        slug: dict(zip(MONTHS, values, strict=True)) for slug, values in MEASUREMENTS.items()
    }
    series.update(QUARTERLY)
    for slug, values in series.items():
        existing = _check(await c.get(f"/v1/kpis/{slug}/measurements", params={"limit": 1}), 200)
        if existing.json()["items"]:
            continue  # loaded before: never replay the correction
        rows = [
            {"period": p, "value": v, "source": BASELINES[slug]["source"]}
            for p, v in values.items()
        ]
        _check(await c.post(f"/v1/kpis/{slug}/measurements", json=rows), 201)
        if slug == CORRECTION[0]:
            _, period, value, source = CORRECTION
            fix = {"period": period, "value": value, "source": source}
            _check(await c.post(f"/v1/kpis/{slug}/measurements", json=fix), 201)


async def _seed_council(c: httpx.AsyncClient) -> None:
    for key, body in SCORES:
        have = _check(await c.get("/v1/scores", params={"epic": key}), 200).json()["items"]
        if not have:
            _check(await c.post(f"/v1/epics/{key}/scores", json=body), 201)
    for key, body in DECISIONS:
        have = _check(await c.get("/v1/decisions", params={"epic": key}), 200).json()["items"]
        if not have:
            _check(await c.post(f"/v1/epics/{key}/decisions", json=body), 201)


async def _counts(c: httpx.AsyncClient) -> dict[str, int]:
    kpis = _check(await c.get("/v1/kpis", params={"limit": 500}), 200).json()["items"]
    epics = _check(
        await c.get("/v1/epics", params={"limit": 500, "include_archived": "true"}), 200
    ).json()["items"]
    measurements = 0
    for k in kpis:
        page = _check(await c.get(f"/v1/kpis/{k['slug']}/measurements", params={"limit": 500}), 200)
        measurements += len(page.json()["items"])
    return {"epics": len(epics), "kpis": len(kpis), "measurements": measurements}


async def seed(settings: OutcomesSettings) -> str:
    """Load the demo portfolio through the API; returns a one-line summary."""
    db = Database(settings.database_url)
    try:
        key = await _demo_key(db)
        try:
            async with app_client(create_app(settings), key=key) as c:
                seeded = _check(await c.get("/v1/epics/PAY-12"), 200, 404).status_code == 200
                await _seed_kpis(c)
                await _seed_epics(c)
                await _seed_measurements(c)
                await _seed_council(c)
                counts = await _counts(c)
        finally:
            async with db.session(write=True) as s:
                await revoke_stored_key(s, api_keys, DEMO_ACTOR)
    finally:
        await db.dispose()
    what = ", ".join(f"{n} {name}" for name, n in counts.items())
    return f"{'already seeded' if seeded else 'seeded'}: {what}"
