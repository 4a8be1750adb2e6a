"""Realized benefit from the attribution service (`GET {ATTRIBUTION_URL}/v1/benefits`).

Outcomes never depends on attribution being up: a short timeout, and any failure becomes
"unavailable" on the page (with the reason logged), never an error page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import structlog

log = structlog.get_logger("ledger.embed")

MAX_PAGES = 20


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str | None


@dataclass(frozen=True)
class EpicBenefit:
    epic_key: str | None
    epic_id: str | None
    realized: Money | None
    run_rate: Money | None
    payback_period: str | None


@dataclass
class Benefits:
    available: bool
    reason: str | None = None
    items: list[EpicBenefit] = field(default_factory=list)

    def for_epic(self, epic_id: str, key: str) -> EpicBenefit | None:
        for b in self.items:
            if b.epic_id == epic_id or (b.epic_id is None and b.epic_key == key):
                return b
        return None


def _money(value: Any, currency: Any = None) -> Money | None:
    """`{"amount": "1.00", "currency": "USD"}`, or a bare decimal with a separate currency."""
    if isinstance(value, dict):
        currency, value = value.get("currency", currency), value.get("amount")
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return Money(amount, currency if isinstance(currency, str) else None)


def _first(item: dict[str, Any], *names: str) -> Any:
    for n in names:
        if item.get(n) is not None:
            return item[n]
    return None


def parse_item(item: dict[str, Any]) -> EpicBenefit:
    currency = item.get("currency")
    payback = _first(item, "payback_period", "payback")
    if isinstance(payback, dict):
        payback = payback.get("period")
    key = _first(item, "epic_key", "epic")
    epic_id = item.get("epic_id")
    return EpicBenefit(
        epic_key=key if isinstance(key, str) else None,
        epic_id=epic_id if isinstance(epic_id, str) else None,
        realized=_money(
            _first(item, "realized", "realized_to_date", "cumulative", "benefit"), currency
        ),
        run_rate=_money(_first(item, "run_rate", "runrate"), currency),
        payback_period=payback if isinstance(payback, str) else None,
    )


async def fetch_benefits(base_url: str, api_key: str, timeout: float) -> Benefits:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = base_url.rstrip("/") + "/v1/benefits"
    items: list[EpicBenefit] = []
    params: dict[str, str] = {"limit": "500"}
    try:
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
            for _ in range(MAX_PAGES):
                r = await client.get(url, params=params)
                if r.status_code != 200:
                    log.warning("attribution_benefits_failed", status=r.status_code, url=url)
                    return Benefits(False, f"the attribution service answered {r.status_code}")
                body = r.json()
                raw = body.get("items", []) if isinstance(body, dict) else body
                if not isinstance(raw, list):
                    return Benefits(False, "the attribution service sent an unexpected answer")
                items.extend(parse_item(i) for i in raw if isinstance(i, dict))
                cursor = body.get("next_cursor") if isinstance(body, dict) else None
                if not cursor:
                    break
                params["cursor"] = str(cursor)
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("attribution_unreachable", url=url, error=type(exc).__name__)
        return Benefits(False, "the attribution service did not answer")
    return Benefits(True, None, items)
