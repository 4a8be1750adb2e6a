"""All outcomes table models, in one package so domains never import each other's tables.

Public ids are strings (uuid4 hex); `pk` integers give the stable creation order that
cursors page by. KPI values are `Numeric(28, 10)` and money `Numeric(20, 2)`, both read back
as `Decimal`.
"""

from __future__ import annotations

from ledgerkit.auth import api_key_table
from outcomes.models.base import Base
from outcomes.models.changes import Change, IdempotencyRecord
from outcomes.models.epics import Contribution, Decision, Epic, EpicStream, Score
from outcomes.models.kpis import Kpi, Measurement
from outcomes.models.webhooks import (
    OutboundDelivery,
    Subscription,
    WebhookDelivery,
)

api_keys = api_key_table(Base.metadata, "outcomes_api_keys")

__all__ = [
    "Base",
    "Change",
    "Contribution",
    "Decision",
    "Epic",
    "EpicStream",
    "IdempotencyRecord",
    "Kpi",
    "Measurement",
    "OutboundDelivery",
    "Score",
    "Subscription",
    "WebhookDelivery",
    "api_keys",
]
