"""Errors of the replica follower."""

from __future__ import annotations

from ledgerkit.errors import LedgerError


class OutcomesUnavailable(LedgerError):
    """The outcomes change feed could not be read (down, refused the key, bad answer).

    The service keeps serving runs and benefits from its replica meanwhile."""

    status, code, title = 502, "outcomes-unavailable", "Outcomes service unavailable"


class FeedInconsistent(LedgerError):
    """The feed does not continue where the replica stopped (a gap or a broken hash chain):
    applying it would corrupt the replica, so nothing is applied."""

    status, code, title = 502, "feed-inconsistent", "Change feed inconsistent"
