"""Deterministic benchmark data: epics, KPIs, contributions, measurements, scores, decisions.

Everything is produced in the public API's request shapes (`api.md`), so the same rows load
through the REST endpoints or, where an endpoint does not exist yet, straight into the tables
(`bench.sqlload`). Same seed, same data.

Volumes at the default size (10,000 epics): ~20,000 contributions (1–3 KPIs per epic, about
100 per KPI, so ~720,000 epic × KPI × period combinations over 36 months), 200 KPIs × 36
monthly periods = 7,200 measurements plus 5 % corrections, 5,000 scores, 3,000 decisions.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

STREAMS = ("Revenue", "Cost", "Risk", "CX")
STREAM_WEIGHTS = (0.40, 0.25, 0.15, 0.20)
UNITS = {
    "Revenue": ("percent", "currency"),
    "Cost": ("currency", "seconds"),
    "Risk": ("count", "score"),
    "CX": ("score", "percent"),
}
TEAMS = [
    "Payments",
    "Checkout",
    "Search",
    "Growth",
    "Pricing",
    "Logistics",
    "Support",
    "Identity",
    "Risk Ops",
    "Data Platform",
    "Mobile",
    "Web",
    "Partners",
    "Billing",
    "Catalog",
    "Fraud",
    "Onboarding",
    "Loyalty",
    "Marketplace",
    "Infra",
]
STATUSES = ("active",) * 6 + ("proposed",) * 2 + ("done", "paused")
FIRST_PERIOD = (2023, 1)
PERIODS = 36
CURRENCY = "USD"


def period_list(n: int = PERIODS, start: tuple[int, int] = FIRST_PERIOD) -> list[str]:
    y, m = start
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return out


def team_prefix(team: str) -> str:
    return "".join(w[0] for w in team.split()).upper() + team.replace(" ", "")[1:3].upper()


@dataclass
class Dataset:
    kpis: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)  # slug -> PUT body
    epics: list[dict[str, Any]] = field(default_factory=list)
    contributions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # epic key ->
    measurements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # slug ->
    corrections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # slug ->
    scores: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # epic key ->
    decisions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # epic key ->

    def counts(self) -> dict[str, int]:
        return {
            "epics": len(self.epics),
            "kpis": len(self.kpis),
            "contributions": sum(len(v) for v in self.contributions.values()),
            "measurements": sum(len(v) for v in self.measurements.values()),
            "corrections": sum(len(v) for v in self.corrections.values()),
            "scores": sum(len(v) for v in self.scores.values()),
            "decisions": sum(len(v) for v in self.decisions.values()),
        }

    def split(self, n_api: int) -> tuple[Dataset, Dataset]:
        """(first n_api epics with everything else, the remaining epics and their rows only)."""
        head = {e["key"] for e in self.epics[:n_api]}

        def part(keep: bool) -> Dataset:
            def pick(d: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
                return {k: v for k, v in d.items() if (k in head) == keep}

            return Dataset(
                kpis=self.kpis if keep else [],
                baselines=self.baselines if keep else {},
                epics=[e for e in self.epics if (e["key"] in head) == keep],
                contributions=pick(self.contributions),
                measurements=self.measurements if keep else {},
                corrections=self.corrections if keep else {},
                scores=pick(self.scores),
                decisions=pick(self.decisions),
            )

        return part(True), part(False)

    def keys_in_stream(self, stream: str) -> list[str]:
        return [e["key"] for e in self.epics if stream in e["streams"]]


def dec(x: float, places: int = 4) -> str:
    return str(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places)))


def generate(n_epics: int = 10_000, n_kpis: int = 200, seed: int = 42) -> Dataset:
    rng = random.Random(seed)
    ds = Dataset()
    periods = period_list()

    # KPIs: streams round-robin, a baseline, a target above (or below) it, money per unit.
    kpi_meta: dict[str, tuple[str, float, float, str]] = {}
    for i in range(n_kpis):
        stream = STREAMS[i % len(STREAMS)]
        unit = UNITS[stream][i // len(STREAMS) % 2]
        direction = (
            "decrease" if stream == "Cost" or (stream == "Risk" and i % 3 == 0) else ("increase")
        )
        slug = f"{stream.lower()}-kpi-{i:03d}"
        base = round(rng.uniform(2, 200), 2)
        move = base * rng.uniform(0.1, 0.5)
        target = base + move if direction == "increase" else base - move
        kpi_meta[slug] = (stream, base, target, direction)
        ds.kpis.append(
            {
                "slug": slug,
                "name": f"{stream} KPI {i:03d} ({unit})",
                "stream": stream,
                "unit": unit,
                "direction": direction,
                "cadence": "monthly",
                "target": {"value": dec(target), "due": "2026-12-31"},
                "value_per_unit": {
                    "amount": dec(rng.uniform(1_000, 250_000), 2),
                    "currency": CURRENCY,
                    "per": "year",
                },
                "owners": [f"{stream.lower()}-owner", rng.choice(TEAMS).lower()],
            }
        )
        ds.baselines[slug] = {
            "value": dec(base),
            "as_of": "2022-12-31",
            "source": "finance data warehouse",
            "agreed_by": "fpa@example.com",
        }
        # 36 monthly values moving from the baseline towards (sometimes past) the target.
        values = []
        for j, p in enumerate(periods):
            progress = min(1.3, (j / (len(periods) - 1)) * rng.uniform(0.6, 1.4))
            v = base + (target - base) * progress + rng.gauss(0, abs(move) * 0.05)
            values.append({"period": p, "value": dec(v), "source": "warehouse"})
        ds.measurements[slug] = values
        ds.corrections[slug] = [
            {"period": m["period"], "value": dec(float(m["value"]) * 1.01), "source": "restated"}
            for m in values
            if rng.random() < 0.05
        ]

    by_stream: dict[str, list[str]] = defaultdict(list)
    for slug, (stream, *_rest) in kpi_meta.items():
        by_stream[stream].append(slug)

    # Epics across teams and streams; 3 % untagged.
    links: list[tuple[str, str]] = []
    for n in range(n_epics):
        team = TEAMS[n % len(TEAMS)]
        key = f"{team_prefix(team)}-{n + 1}"
        if rng.random() < 0.03:
            streams: list[str] = []
        else:
            first = rng.choices(STREAMS, STREAM_WEIGHTS)[0]
            streams = [first]
            if rng.random() < 0.3:
                second = rng.choice([s for s in STREAMS if s != first])
                streams.append(second)
        start = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 900))
        epic = {
            "key": key,
            "title": f"{team}: initiative {n + 1} ({', '.join(streams) or 'untagged'})",
            "streams": streams,
            "status": rng.choice(STATUSES),
            "owner": f"{team.lower().replace(' ', '-')}-lead",
            "team": team,
            "planned_cost": {"amount": dec(rng.uniform(20_000, 2_000_000), 2), "currency": "USD"},
            "start_date": start.isoformat(),
            "target_date": (start + timedelta(days=rng.randrange(90, 540))).isoformat(),
            "change_type": rng.choice(("adaptive", "transformative")),
            "sponsor": f"vp-{team.lower().replace(' ', '-')}",
            "hypothesis": {
                "statement": f"Initiative {n + 1} moves its KPIs towards target within a year",
                "for_whom": rng.choice(("returning customers", "new customers", "agents")),
                "economic_logic": "uplift × value per unit × share",
                "assumptions": ["adoption by the sales team"],
                "risks": ["delivery delay"],
                "leading_indicators": ["feature adoption"],
                "lagging_indicators": ["KPI value"],
                "proof_plan": {"days": 90, "stop_if": "no movement", "scale_if": "uplift ≥ 50 %"},
            },
        }
        ds.epics.append(epic)
        pool = [s for st in streams for s in by_stream[st]] or list(kpi_meta)
        k = rng.choice((1, 2, 2, 3))
        for slug in rng.sample(pool, min(k, len(pool))):
            links.append((key, slug))

    # Claimed shares: 80 % of each KPI's contributors claim an equal part of 95 % (sum ≤ 1).
    per_kpi: dict[str, int] = defaultdict(int)
    for _, slug in links:
        per_kpi[slug] += 1
    targets = {e["key"]: e["target_date"] for e in ds.epics}
    for key, slug in links:
        _stream, base, target, _d = kpi_meta[slug]
        share = (Decimal("0.95") / per_kpi[slug]).quantize(Decimal("0.0001"), ROUND_DOWN)
        body: dict[str, Any] = {
            "kpi": slug,
            "expected_uplift": dec(abs(target - base) / per_kpi[slug]),
            "expected_by": targets[key],
        }
        if rng.random() < 0.8:
            body["claimed_share"] = str(share)
        ds.contributions.setdefault(key, []).append(body)

    # Value council: half the epics scored for the latest quarter; 30 % with a decision.
    for e in ds.epics:
        if rng.random() < 0.5:
            op, ttv, risk = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5)
            ds.scores[e["key"]] = [
                {
                    "period": "2025-12",
                    "outcome_potential": op,
                    "time_to_value": ttv,
                    "risk": risk,
                    "scored_by": "value-council",
                    "note": "monthly review",
                }
            ]
        if rng.random() < 0.3:
            decision = rng.choice(("continue",) * 5 + ("course_correct", "scale", "pause"))
            ds.decisions[e["key"]] = [
                {
                    "decided_on": f"2025-{rng.randint(1, 12):02d}-15",
                    "decision": decision,
                    "grade": rng.choice(("realized", "on_track", "delayed", "disproven")),
                    "rationale": "reviewed by the value council",
                    "decided_by": "value-council",
                }
            ]
    return ds


def bulk_measurement_bodies(
    slugs: list[str], n_requests: int, rows: int = 1_000
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Scenario 3 request bodies: each writes `rows` *new* measurements (fresh segments)."""
    periods = period_list()
    out = []
    for r in range(n_requests):
        slug = slugs[r % len(slugs)]
        body = []
        s = 0
        while len(body) < rows:
            for p in periods:
                if len(body) == rows:
                    break
                body.append(
                    {"period": p, "value": f"{(r * 7 + s) % 997}.5", "segment": f"b{r}-{s}"}
                )
            s += 1
        out.append((slug, body))
    return out
