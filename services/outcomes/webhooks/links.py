"""KPI links from `kpi-<slug>` labels / `KPI:<slug>` tags, made through the contributions
service — without a claimed share: finance sets shares; a label only says "this epic is
meant to move that KPI".

A label that disappears removes its link only when the link is still bare (no share, no
expected uplift or date); a link someone has filled in is kept, with a warning, because
deleting it would silently release an agreed share.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.contributions.errors import ContributionNotFound, DuplicateContribution
from outcomes.contributions.service import add_contribution, delete_contribution
from outcomes.models import Epic
from outcomes.webhooks import store
from outcomes.webhooks.mapping import warning


@dataclass
class LinkPlan:
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


async def plan_links(
    session: AsyncSession, epic: Epic | None, wanted: list[str], before: list[str]
) -> LinkPlan:
    """`wanted`: existing KPIs the labels name now; `before`: KPIs the epic's labels named
    before this event (only those can be unlinked by a label removal)."""
    plan = LinkPlan(add=list(wanted))
    if epic is None or not (wanted or before):
        return plan
    linked = await store.linked_kpis(session, epic.pk)
    plan.add = [s for s in wanted if s not in linked]
    for slug in before:
        c = linked.get(slug)
        if c is None or slug in wanted:
            continue
        if c.claimed_share is None and c.expected_uplift is None and c.expected_by is None:
            plan.remove.append(slug)
        else:
            plan.warnings.append(
                warning(
                    "kpi-link-kept",
                    f"the label for KPI {slug!r} was removed, but its link carries a share or "
                    "an expected uplift and was kept; delete it by hand if it is obsolete",
                    kpi=slug,
                )
            )
    return plan


async def apply_links(session: AsyncSession, epic: Epic, plan: LinkPlan, *, actor: str) -> None:
    for slug in plan.add:
        # Linked by someone else meanwhile: fine as it is.
        with contextlib.suppress(DuplicateContribution):
            await add_contribution(session, epic, slug, actor=actor)
    for slug in plan.remove:
        with contextlib.suppress(ContributionNotFound):
            await delete_contribution(session, epic, slug, if_match=None, actor=actor)
