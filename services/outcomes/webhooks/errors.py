"""Errors of the webhooks domain. A delivery that is refused is still recorded in the inbox
(status `rejected`); the problem names its `delivery_id` so it can be found there."""

from __future__ import annotations

from ledgerkit.errors import (
    Conflict,
    LedgerError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)


class MalformedDelivery(LedgerError):
    """The body is not a JSON object: nothing in it can be trusted or used."""

    status, code, title = 400, "malformed-webhook", "Malformed webhook delivery"


class InvalidDelivery(ValidationFailed):
    """JSON, but not the shape the product sends (no `issue` / `resource`, too many labels…)."""

    code, title = "invalid-webhook", "Invalid webhook delivery"


class UnsupportedEvent(ValidationFailed):
    code, title = "unsupported-webhook-event", "Unsupported webhook event"


class WebhookUnauthorized(Unauthorized):
    """Wrong or missing signature / credentials. 401 is final for Jira (no retries)."""

    code, title = "webhook-unauthorized", "Webhook authentication failed"


class DeliveryTooLarge(PayloadTooLarge):
    code, title = "payload-too-large", "Payload too large"


class WebhookStoreUnavailable(ServiceUnavailable):
    """The inbox could not be written. 503 + Retry-After: both Jira and ADO retry a 503,
    whereas ADO puts a subscription on probation after a 500 and disables it after a 410."""

    code, title = "webhook-store-unavailable", "Service unavailable"


class DeliveryNotFound(NotFound):
    code, title = "webhook-delivery-not-found", "Webhook delivery not found"


class DeliveryNotReplayable(Conflict):
    code, title = "webhook-delivery-not-replayable", "Webhook delivery cannot be replayed"


class EpicKeyConflict(Conflict):
    """The item's epic key is held by another epic (e.g. typed in by hand): the delivery
    fails rather than adopting or overwriting that epic; re-key it, then replay."""

    code, title = "epic-key-conflict", "Epic key already used"
