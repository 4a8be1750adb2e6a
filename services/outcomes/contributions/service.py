"""Contributions: which epics move which KPI, by how much, and which share they claim.

The **overlap guard**: the claimed shares of one KPI never sum above 1, otherwise finance
would count the same uplift twice. Every write that sets a share first locks the KPI's row
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite has a single writer), then sums the other
epics' shares, so two concurrent claims cannot both pass the check.

Archived epics keep their claims in the sum: archiving is reversible and the claim was
agreed; a freed share must be released explicitly (DELETE the link or PATCH its share).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.etag import check_version, expected_version
from ledgerkit.money import decimal_str
from ledgerkit.pagination import encode_cursor
from outcomes.changes.service import record_change
from outcomes.contributions import store
from outcomes.contributions.errors import (
    ContributionNotFound,
    DuplicateContribution,
    OverlapGuardViolation,
)
from outcomes.contributions.schemas import ContributionPage, ContributionRead, ContributionUpdate
from outcomes.epics.service import cursor_position
from outcomes.kpis.service import get_kpi
from outcomes.models import Contribution, Epic, Kpi

ONE = Decimal(1)


def contribution_read(c: Contribution, epic: Epic, kpi_slug: str) -> ContributionRead:
    return ContributionRead(
        epic_id=epic.id,
        epic=epic.key,
        kpi=kpi_slug,
        expected_uplift=c.expected_uplift,
        expected_by=c.expected_by,
        claimed_share=c.claimed_share,
        version=c.version,
    )


def _record(session: AsyncSession, read: ContributionRead, action: str, actor: str) -> None:
    record_change(
        session,
        actor=actor,
        entity="contribution",
        entity_id=f"{read.epic_id}:{read.kpi}",
        action=action,
        data=read.model_dump(mode="json"),
    )


async def check_overlap(
    session: AsyncSession, kpi: Kpi, epic: Epic, requested: Decimal | None
) -> None:
    """409 when `requested` plus the other epics' claimed shares of `kpi` would exceed 1.
    The caller holds the KPI's row lock."""
    if requested is None or requested == 0:
        return
    holders = await store.share_holders(session, kpi.pk, exclude_epic_pk=epic.pk)
    current = sum((h.claimed_share for h in holders), Decimal(0))
    if current + requested <= ONE:
        return
    available = max(ONE - current, Decimal(0))
    held = ", ".join(f"{h.epic_key} {decimal_str(h.claimed_share)}" for h in holders)
    raise OverlapGuardViolation(
        f"Claimed shares of KPI {kpi.slug!r} would sum to {decimal_str(current + requested)}: "
        f"{decimal_str(current)} is already claimed ({held}); {epic.key} requested "
        f"{decimal_str(requested)}, at most {decimal_str(available)} is available.",
        kpi=kpi.slug,
        current_sum=decimal_str(current),
        requested=decimal_str(requested),
        available=decimal_str(available),
        holders=[
            {
                "epic": h.epic_key,
                "epic_id": h.epic_id,
                "claimed_share": decimal_str(h.claimed_share),
                "archived": h.archived,
            }
            for h in holders
        ],
    )


async def add_contribution(
    session: AsyncSession,
    epic: Epic,
    kpi_slug: str,
    *,
    expected_uplift: Decimal | None = None,
    expected_by: date | None = None,
    claimed_share: Decimal | None = None,
    actor: str,
) -> ContributionRead:
    """Link `epic` to the KPI `kpi_slug`. `KpiNotFound` for an unknown KPI,
    `DuplicateContribution` when the link exists, `OverlapGuardViolation` when the share
    does not fit. Records a `contribution` `created` change."""
    kpi = await get_kpi(session, kpi_slug, for_update=True)
    if await store.get(session, epic.pk, kpi.pk) is not None:
        raise DuplicateContribution(
            f"Epic {epic.key} is already linked to KPI {kpi.slug!r}; "
            f"change the link with PATCH /v1/epics/{epic.key}/contributions/{kpi.slug}.",
            epic=epic.key,
            kpi=kpi.slug,
        )
    await check_overlap(session, kpi, epic, claimed_share)
    c = Contribution(
        epic_pk=epic.pk,
        kpi_pk=kpi.pk,
        expected_uplift=expected_uplift,
        expected_by=expected_by,
        claimed_share=claimed_share,
        version=1,
    )
    session.add(c)
    await session.flush()
    read = contribution_read(c, epic, kpi.slug)
    _record(session, read, "created", actor)
    return read


async def _get(
    session: AsyncSession, epic: Epic, kpi_slug: str, *, for_update: bool = False
) -> tuple[Contribution, Kpi]:
    kpi = await get_kpi(session, kpi_slug, for_update=for_update)
    c = await store.get(session, epic.pk, kpi.pk)
    if c is None:
        raise ContributionNotFound(
            f"Epic {epic.key} is not linked to KPI {kpi_slug!r}.", epic=epic.key, kpi=kpi_slug
        )
    return c, kpi


async def get_contribution(session: AsyncSession, epic: Epic, kpi_slug: str) -> ContributionRead:
    c, kpi = await _get(session, epic, kpi_slug)
    return contribution_read(c, epic, kpi.slug)


async def update_contribution(
    session: AsyncSession,
    epic: Epic,
    kpi_slug: str,
    patch: ContributionUpdate,
    *,
    if_match: str | None,
    actor: str,
) -> ContributionRead:
    """Merge-patch a link; a changed share passes the overlap guard first."""
    c, kpi = await _get(session, epic, kpi_slug, for_update=True)
    check_version(expected_version(if_match, c.version), c.version, "contribution")
    fields = patch.model_fields_set
    before = contribution_read(c, epic, kpi.slug)
    if "claimed_share" in fields:
        await check_overlap(session, kpi, epic, patch.claimed_share)
        c.claimed_share = patch.claimed_share
    if "expected_uplift" in fields:
        c.expected_uplift = patch.expected_uplift
    if "expected_by" in fields:
        c.expected_by = patch.expected_by
    if contribution_read(c, epic, kpi.slug) == before:
        return before
    c.version += 1
    await session.flush()
    read = contribution_read(c, epic, kpi.slug)
    _record(session, read, "updated", actor)
    return read


async def delete_contribution(
    session: AsyncSession, epic: Epic, kpi_slug: str, *, if_match: str | None, actor: str
) -> None:
    """Remove a link (its share is released). The change log keeps its last state."""
    c, kpi = await _get(session, epic, kpi_slug, for_update=True)
    check_version(expected_version(if_match, c.version), c.version, "contribution")
    read = contribution_read(c, epic, kpi.slug)
    await session.delete(c)
    await session.flush()
    _record(session, read, "deleted", actor)


async def list_contributions(
    session: AsyncSession, epic: Epic, *, limit: int, cursor: str | None
) -> ContributionPage:
    rows = await store.list_for_epic(
        session, epic.pk, after_pk=cursor_position(cursor), limit=limit
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return ContributionPage(
        items=[contribution_read(c, epic, slug) for c, slug in rows],
        next_cursor=encode_cursor(rows[-1][0].pk) if more and rows else None,
    )
