"""Errors of the decisions domain."""

from __future__ import annotations

from ledgerkit.errors import NotFound


class DecisionNotFound(NotFound):
    code, title = "decision-not-found", "Decision not found"
