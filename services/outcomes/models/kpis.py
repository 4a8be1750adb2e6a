"""KPIs (baseline, target, value per unit) and their bitemporal measurements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from outcomes.models.base import Base, Created, IntPk, Updated


class Kpi(Base):
    __tablename__ = "kpis"

    pk: Mapped[IntPk]
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    stream: Mapped[str | None] = mapped_column(String(10), index=True)
    unit: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    cadence: Mapped[str] = mapped_column(String(10), default="monthly")
    baseline_value: Mapped[Decimal | None]
    baseline_as_of: Mapped[date | None]
    baseline_source: Mapped[str | None] = mapped_column(String(300))
    baseline_agreed_by: Mapped[str | None] = mapped_column(String(200))
    baseline_agreed_at: Mapped[datetime | None]
    target_value: Mapped[Decimal | None]
    target_due: Mapped[date | None]
    value_per_unit_amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    value_per_unit_currency: Mapped[str | None] = mapped_column(String(3))
    value_per_unit_per: Mapped[str | None] = mapped_column(String(5))
    owners: Mapped[list[str]] = mapped_column(default=list)
    scorecard_line: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]


class Measurement(Base):
    """One version of a KPI value for (period, segment).

    Bitemporal: a correction inserts a new version and stamps the old one's
    `superseded_at`; the value known at time T is the version with
    `recorded_at <= T < superseded_at` (or no `superseded_at`). The partial unique index
    keeps exactly one current version per (kpi, period, segment), even under races.
    """

    __tablename__ = "measurements"

    pk: Mapped[IntPk]
    kpi_pk: Mapped[int] = mapped_column(ForeignKey("kpis.pk", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    segment: Mapped[str] = mapped_column(String(64), default="all")
    value: Mapped[Decimal]
    source: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, default=1)
    recorded_at: Mapped[Created]
    superseded_at: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("kpi_pk", "period", "segment", "version"),
        Index(
            "ux_measurements_current",
            "kpi_pk",
            "period",
            "segment",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )
