"""`GET /v1/benefits` shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ledgerkit.money import Money
from ledgerkit.pagination import Page


class KpiBenefitRead(BaseModel):
    kpi: str
    realized: Money
    run_rate: Money
    latest_period: str | None


class BenefitRead(BaseModel):
    epic: str = Field(description="Epic key.")
    epic_id: str
    title: str
    team: str | None
    streams: list[str]
    ruleset: str
    version: int
    run: str = Field(description="The official run the figures come from.")
    period_from: str = Field(serialization_alias="from")
    period_to: str = Field(serialization_alias="to")
    currency: str
    realized: Money = Field(description="Sum of the epic's lines in the run (to date).")
    run_rate: Money = Field(description="Latest period's benefit annualized, summed over KPIs.")
    latest_period: str | None
    planned_cost: Money | None
    payback_period: str | None = Field(
        description="First period whose cumulative benefit reaches the planned cost."
    )
    kpis: list[KpiBenefitRead]


BenefitPage = Page[BenefitRead]
