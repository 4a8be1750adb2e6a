"""Errors of the epics domain."""

from __future__ import annotations

from ledgerkit.errors import Conflict, NotFound


class EpicNotFound(NotFound):
    code, title = "epic-not-found", "Epic not found"


class DuplicateEpicKey(Conflict):
    code, title = "duplicate-epic-key", "Duplicate epic key"
