"""Subscription errors."""

from __future__ import annotations

from ledgerkit.errors import NotFound


class SubscriptionNotFound(NotFound):
    code, title = "subscription-not-found", "Subscription not found"
