"""Demo data for the attribution service (`ledger seed-demo`): idempotent.

One rule set, "Finance FY26", with an agreed version equal to attribution.md's example
(USD, EUR at 1.08, confidence 0.8, cap at target, claimed split). `ledger seed-demo` runs
before the services start, so the replica is usually still empty: the agreement then skips
the checks against outcomes data and records a `checks_skipped` warning on the version
(visible in the API). With a replica that has data, the checks run as usual; if they fail,
the version is left proposed and the summary says why.
"""

from __future__ import annotations

from typing import Any

from attribution.engine import content_hash
from attribution.engine.examples import worked_example_rules
from attribution.rulesets import service as rulesets
from attribution.rulesets import store as ruleset_store
from attribution.rulesets.errors import AgreementRefused
from attribution.rulesets.schemas import RuleSetCreate, VersionCreate
from attribution.settings import AttributionSettings
from ledgerkit.db import Database

NAME = "Finance FY26"
ACTOR = "demo:finance"
EFFECTIVE_FROM = "2026-01"


def demo_rules() -> dict[str, Any]:
    """attribution.md's worked-example rules (`engine.examples`) without their
    cost-per-ticket override: in the demo portfolio SUP-3 and OPS-9 claim shares of
    cost-per-ticket, and the demo's finance agreed to split it as claimed (the default)."""
    rules = worked_example_rules()
    del rules["kpis"]["cost-per-ticket"]
    return rules


async def seed(settings: AttributionSettings) -> str:
    db = Database(settings.database_url)
    try:
        rules = demo_rules()
        digest = content_hash(rules)
        async with db.session(write=True) as session:
            existing = await ruleset_store.get_ruleset_by_name(session, NAME)
            if existing is None:
                rs = await rulesets.create_ruleset(
                    session, RuleSetCreate(name=NAME, description="Demo: attribution.md"), ACTOR
                )
                ruleset_id = rs.id
            else:
                ruleset_id = existing.id
            versions = await rulesets.versions(session, ruleset_id)
            same = [v for v in versions if v.content_hash == digest and v.status != "rejected"]
            if any(v.status in rulesets.AGREED for v in same):
                return f"rule set {NAME!r} already has the agreed demo version"
            if same:
                number = same[-1].number
                status = same[-1].status
            else:
                v = await rulesets.create_version(
                    session,
                    ruleset_id,
                    VersionCreate(rules=rules, effective_from=EFFECTIVE_FROM),
                    ACTOR,
                )
                number, status = v.version, v.status
            if status == "draft":
                await rulesets.propose_version(session, ruleset_id, number, ACTOR)
        async with db.session(write=True) as session:
            try:
                agreed = await rulesets.agree_version(
                    session, ruleset_id, number, ACTOR, skip_checks_if_replica_empty=True
                )
            except AgreementRefused as exc:
                return f"rule set {NAME!r} version {number} left proposed: {exc.detail}"
        note = " (checks skipped: replica empty)" if agreed.warnings else ""
        return f"rule set {NAME!r} version {number} agreed{note}"
    finally:
        await db.dispose()
