"""Checks before a run (and before agreeing a rule set against current data).

The design lists them: claimed shares <= 1 per KPI, every referenced KPI exists, money has a
currency with an agreed rate, periods match the KPI cadence. A run that would break one is
refused rather than computed on a guess. Paths name rows by their identifiers, not by list
positions, because the order of a snapshot carries no meaning.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from .errors import JsonPath, Problem
from .inputs import Snapshot
from .periods import PeriodError, parse_period
from .results import engine_context
from .rules import RulesDocument, resolve

# Same bound as the rules: far beyond real figures, and it keeps 50-digit arithmetic exact.
_MAX_MAGNITUDE = 18


def _finite(path: JsonPath, value: Decimal | None) -> list[Problem]:
    if value is None:
        return []
    if not value.is_finite():
        return [Problem(path, "NaN and Infinity are not allowed", "not_finite")]
    if value and not -_MAX_MAGNITUDE <= value.adjusted() <= _MAX_MAGNITUDE:
        return [Problem(path, "decimal out of range", "out_of_range")]
    return []


def _rate_problem(path: JsonPath, currency: str, rules: RulesDocument) -> list[Problem]:
    if currency == rules.currency or currency in rules.fx:
        return []
    return [
        Problem(
            path,
            f"{currency} is not the reporting currency ({rules.currency}) "
            "and has no agreed rate in the rules' fx",
            "currency_without_rate",
        )
    ]


def _duplicates(kind: str, keys: list[tuple[str, ...]]) -> list[Problem]:
    return [
        Problem((kind, *key), f"duplicate {kind} entry", "duplicate")
        for key, count in sorted(Counter(keys).items())
        if count > 1
    ]


def check_inputs(rules: RulesDocument, snapshot: Snapshot) -> list[Problem]:
    """Every problem that makes the snapshot unfit to compute with these rules."""
    with engine_context():
        # Duplicated rows would report the same problem twice; once is enough.
        return list(dict.fromkeys(_check_inputs(rules, snapshot)))


def _check_inputs(rules: RulesDocument, snapshot: Snapshot) -> list[Problem]:
    kpis = {k.slug: k for k in snapshot.kpis}
    epics = {e.id: e for e in snapshot.epics}
    problems: list[Problem] = []
    problems += _duplicates("kpis", [(k.slug,) for k in snapshot.kpis])
    problems += _duplicates("epics", [(e.id,) for e in snapshot.epics])
    problems += _duplicates("contributions", [(c.epic_id, c.kpi) for c in snapshot.contributions])
    problems += _duplicates(
        "measurements", [(m.kpi, m.period, m.segment) for m in snapshot.measurements]
    )

    for slug in sorted(rules.kpis):
        if slug not in kpis:
            problems.append(
                Problem(
                    ("rules", "kpis", slug),
                    f"the rules name an unknown KPI {slug!r}",
                    "unknown_kpi",
                )
            )

    for kpi in snapshot.kpis:
        problems += _finite(("kpis", kpi.slug, "baseline"), kpi.baseline)
        problems += _finite(("kpis", kpi.slug, "target"), kpi.target)

    claimed: dict[str, Decimal] = defaultdict(Decimal)
    contributing_kpis: set[str] = set()
    contributing_epics: set[str] = set()
    for c in snapshot.contributions:
        path: JsonPath = ("contributions", c.epic_id, c.kpi)
        if c.kpi not in kpis:
            problems.append(Problem((*path, "kpi"), f"unknown KPI {c.kpi!r}", "unknown_kpi"))
        if c.epic_id not in epics:
            problems.append(
                Problem((*path, "epic_id"), f"unknown epic {c.epic_id!r}", "unknown_epic")
            )
        problems += _finite((*path, "expected_uplift"), c.expected_uplift)
        problems += _finite((*path, "claimed_share"), c.claimed_share)
        if c.claimed_share is not None and c.claimed_share.is_finite():
            if not 0 <= c.claimed_share <= 1:
                problems.append(
                    Problem((*path, "claimed_share"), "must be between 0 and 1", "fraction")
                )
            claimed[c.kpi] += c.claimed_share
        contributing_kpis.add(c.kpi)
        contributing_epics.add(c.epic_id)

    for slug, total in sorted(claimed.items()):
        if total > 1:
            problems.append(
                Problem(
                    ("kpis", slug, "claimed_share"),
                    f"claimed shares sum to {total}, above 1 (overlap guard)",
                    "claimed_shares_exceed_one",
                )
            )

    for m in snapshot.measurements:
        path = ("measurements", m.kpi, m.period, m.segment)
        problems += _finite((*path, "value"), m.value)
        if m.kpi not in kpis:
            problems.append(Problem((*path, "kpi"), f"unknown KPI {m.kpi!r}", "unknown_kpi"))
            continue
        try:
            parse_period(m.period, kpis[m.kpi].cadence)
        except PeriodError as exc:
            problems.append(Problem((*path, "period"), str(exc), "period_cadence"))

    # Money the computation will use: each contributing KPI's value per unit (the rules'
    # override, else the KPI's own) and each contributing epic's planned cost.
    for slug in sorted(contributing_kpis & kpis.keys()):
        vpu = resolve(rules, slug).value_per_unit or kpis[slug].value_per_unit
        if vpu is not None:
            problems += _finite(("kpis", slug, "value_per_unit", "amount"), vpu.amount)
            problems += _rate_problem(
                ("kpis", slug, "value_per_unit", "currency"), vpu.currency, rules
            )
    for epic_id in sorted(contributing_epics & epics.keys()):
        cost = epics[epic_id].planned_cost
        if cost is not None:
            problems += _finite(("epics", epic_id, "planned_cost", "amount"), cost.amount)
            problems += _rate_problem(
                ("epics", epic_id, "planned_cost", "currency"), cost.currency, rules
            )
    return problems
