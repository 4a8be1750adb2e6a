"""Errors of the epics domain."""

from __future__ import annotations

from ledgerkit.errors import Conflict, LedgerError, NotFound


class EpicNotFound(NotFound):
    code, title = "epic-not-found", "Epic not found"


class DuplicateEpicKey(Conflict):
    code, title = "duplicate-epic-key", "Duplicate epic key"


class UnsupportedMediaType(LedgerError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class EpicArchived(Conflict):
    """Scores and decisions are for live epics; restore an archived one first."""

    code, title = "epic-archived", "Epic archived"
