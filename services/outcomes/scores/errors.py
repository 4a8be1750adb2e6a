"""Errors of the scores domain."""

from __future__ import annotations

from ledgerkit.errors import NotFound


class ScoreNotFound(NotFound):
    code, title = "score-not-found", "Score not found"
