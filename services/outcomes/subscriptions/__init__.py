"""Outbound events: subscriptions fed from the change log, signed, retried, in order."""
