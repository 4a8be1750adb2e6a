"""KPI links from `kpi-<slug>` labels / `KPI:<slug>` tags, made through the contributions
service (no claimed share: finance sets shares, a label only says "this epic moves it")."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Epic
from outcomes.webhooks import store


async def link_kpis(session: AsyncSession, epic: Epic, slugs: Sequence[str], *, actor: str) -> None:
    """Link the epic to each (existing) KPI it is not linked to yet."""
    if not slugs:
        return
    linked = await store.linked_kpis(session, epic.pk)
    missing = [s for s in slugs if s not in linked]
    if missing:
        raise NotImplementedError("contributions service not available yet")
