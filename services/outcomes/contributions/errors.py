"""Errors of the contributions domain (epic ↔ KPI links)."""

from __future__ import annotations

from ledgerkit.errors import Conflict, NotFound


class ContributionNotFound(NotFound):
    code, title = "contribution-not-found", "Contribution not found"


class DuplicateContribution(Conflict):
    """One link per epic and KPI; change an existing one with PATCH."""

    code, title = "duplicate-contribution", "Epic already linked to this KPI"


class OverlapGuardViolation(Conflict):
    """The claimed shares of one KPI may never sum above 1: otherwise the same uplift would
    be counted as benefit twice. The problem names the KPI, the current sum, the requested
    share and the epics holding shares, so the requester knows whom to talk to."""

    code, title = "overlap-guard", "Claimed shares would exceed 1"
