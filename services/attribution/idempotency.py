"""The attribution service's `Idempotency-Key` support: every POST route of a router built
with `route_class=IdempotentRoute` replays retried requests (see `ledgerkit.idempotency`)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from attribution.models import IdempotencyRecord
from ledgerkit.idempotency import idempotent_route_class

IdempotentRoute = idempotent_route_class(cast(Table, IdempotencyRecord.__table__))
