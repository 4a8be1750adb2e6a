"""Epics and what hangs off them: streams, KPI contributions, council scores, decisions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outcomes.models.base import Base, Created, IntPk, PublicId, Updated


class Epic(Base):
    """A funded piece of work. `streams` is the canonical list as returned by the API;
    `EpicStream` rows mirror it so stream filters use an index."""

    __tablename__ = "epics"

    pk: Mapped[IntPk]
    id: Mapped[PublicId]
    key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    streams: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    source: Mapped[str] = mapped_column(String(20), default="manual", index=True)
    source_id: Mapped[str | None] = mapped_column(String(100), index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(200), index=True)
    planned_cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    planned_cost_currency: Mapped[str | None] = mapped_column(String(3))
    start_date: Mapped[date | None]
    target_date: Mapped[date | None]
    hypothesis: Mapped[dict[str, Any] | None]
    change_type: Mapped[str | None] = mapped_column(String(20))
    sponsor: Mapped[str | None] = mapped_column(String(200))
    labels: Mapped[list[str]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    # Webhook ordering: the newest source update applied (Jira `updated`, ADO rev/changed).
    source_updated_at: Mapped[datetime | None]
    source_rev: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]
    archived_at: Mapped[datetime | None]


class EpicStream(Base):
    __tablename__ = "epic_streams"

    epic_pk: Mapped[int] = mapped_column(
        ForeignKey("epics.pk", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(10), primary_key=True)

    __table_args__ = (Index("ix_epic_streams_stream_epic", "stream", "epic_pk"),)


class Contribution(Base):
    """Epic ↔ KPI link. The claimed shares of one KPI never sum above 1 (overlap guard)."""

    __tablename__ = "contributions"

    pk: Mapped[IntPk]
    epic_pk: Mapped[int] = mapped_column(ForeignKey("epics.pk", ondelete="CASCADE"))
    kpi_pk: Mapped[int] = mapped_column(ForeignKey("kpis.pk", ondelete="CASCADE"), index=True)
    expected_uplift: Mapped[Decimal | None]
    expected_by: Mapped[date | None]
    claimed_share: Mapped[Decimal | None] = mapped_column(Numeric(12, 10))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]

    __table_args__ = (UniqueConstraint("epic_pk", "kpi_pk"),)


class Score(Base):
    """A value-council score of an epic for a period (1–5 each)."""

    __tablename__ = "scores"

    pk: Mapped[IntPk]
    id: Mapped[PublicId]
    epic_pk: Mapped[int] = mapped_column(ForeignKey("epics.pk", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    outcome_potential: Mapped[int] = mapped_column(Integer)
    time_to_value: Mapped[int] = mapped_column(Integer)
    risk: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    scored_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]


class Decision(Base):
    """The portfolio decision log (append-only)."""

    __tablename__ = "decisions"

    pk: Mapped[IntPk]
    id: Mapped[PublicId]
    epic_pk: Mapped[int] = mapped_column(ForeignKey("epics.pk", ondelete="CASCADE"), index=True)
    decided_on: Mapped[date]
    decision: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(20))
    rationale: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[Created]
