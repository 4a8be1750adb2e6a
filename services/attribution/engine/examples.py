"""The worked example of attribution.md as data: documentation that runs.

Used by the engine's tests and handy for demo seeds; the expected figures are in the README.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .inputs import (
    ContributionInput,
    EpicInput,
    KpiInput,
    MeasurementInput,
    Money,
    Snapshot,
    ValuePerUnit,
)


def worked_example_rules() -> dict[str, Any]:
    """The rules document exactly as printed in attribution.md."""
    return {
        "currency": "USD",
        "fx": {"EUR": "1.08"},
        "defaults": {
            "baseline": "agreed",
            "method": "baseline_delta",
            "split": "claimed",
            "confidence": "0.8",
            "cap_at_target": True,
            "allow_negative": False,
            "lag_periods": 0,
            "ramp": [],
        },
        "kpis": {
            "checkout-conversion": {
                "value_per_unit": {"amount": "8000000", "currency": "USD", "per": "year"}
            },
            "cost-per-ticket": {"confidence": "1.0", "split": "equal"},
        },
    }


def worked_example_snapshot() -> Snapshot:
    """checkout-conversion 2.1 → 3.3; PAY-12 claims 0.6 (cost 500,000), WEB-7 claims 0.4."""
    return Snapshot(
        kpis=(
            KpiInput(
                slug="checkout-conversion",
                stream="Revenue",
                unit="percent",
                direction="increase",
                cadence="monthly",
                baseline=Decimal("2.1"),
                target=Decimal("3.3"),
                value_per_unit=ValuePerUnit(Decimal("8000000"), "USD", "year"),
            ),
            # Named by the rules; nobody contributes to it in this example.
            KpiInput(
                slug="cost-per-ticket",
                stream="Cost",
                unit="currency",
                direction="decrease",
                cadence="monthly",
                baseline=Decimal("6.40"),
                target=Decimal("4.80"),
            ),
        ),
        epics=(
            EpicInput(
                id="epic-pay-12",
                key="PAY-12",
                title="Next-best-offer at checkout",
                streams=("Revenue",),
                planned_cost=Money(Decimal("500000.00"), "USD"),
            ),
            EpicInput(
                id="epic-web-7", key="WEB-7", title="Faster checkout page", streams=("Revenue",)
            ),
        ),
        contributions=(
            ContributionInput("epic-pay-12", "checkout-conversion", claimed_share=Decimal("0.6")),
            ContributionInput("epic-web-7", "checkout-conversion", claimed_share=Decimal("0.4")),
        ),
        measurements=(
            MeasurementInput("checkout-conversion", "2026-04", Decimal("2.5")),
            MeasurementInput("checkout-conversion", "2026-05", Decimal("2.9")),
            MeasurementInput("checkout-conversion", "2026-06", Decimal("3.4")),
        ),
    )
