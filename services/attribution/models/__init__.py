"""All attribution table models, in one package so domains never import each other's tables.

Table names never collide with the outcomes service's (both may share one PostgreSQL
database): rule sets (`rulesets`, `ruleset_versions`), runs (`attribution_runs`,
`benefit_lines`), the replica of outcomes data (`replica_*`) and stored idempotent
responses (`attribution_idempotency_keys`).

Decimals (KPI values, shares, money) are stored as their canonical decimal *strings*: exact
on SQLite and PostgreSQL alike, and byte-for-byte what the engine hashed and `verify`
compares. Nothing sums them in SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledgerkit.auth import api_key_table
from ledgerkit.db import new_metadata
from ledgerkit.timeutil import utcnow

DEC = 40  # length of a stored decimal string


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
        list[str]: JSON,
    }


api_keys = api_key_table(Base.metadata, "attribution_api_keys")


# --- rule sets -------------------------------------------------------------------------


class RuleSet(Base):
    __tablename__ = "rulesets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleSetVersion(Base):
    """One version of a rule set's rules. Immutable once `agreed`; `revision` bumps on every
    edit of a draft/proposed version and is its ETag."""

    __tablename__ = "ruleset_versions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ruleset_id: Mapped[str] = mapped_column(ForeignKey("rulesets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[str] = mapped_column(String(7))
    rules: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    proposed_by: Mapped[str | None] = mapped_column(String(200))
    proposed_at: Mapped[datetime | None]
    agreed_by: Mapped[str | None] = mapped_column(String(200))
    agreed_at: Mapped[datetime | None]
    rejected_by: Mapped[str | None] = mapped_column(String(200))
    rejected_at: Mapped[datetime | None]
    reject_reason: Mapped[str | None] = mapped_column(String(2000))
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    superseded_from: Mapped[str | None] = mapped_column(String(7))
    superseded_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("ruleset_id", "number"),)


# --- runs ------------------------------------------------------------------------------


class AttributionRun(Base):
    """A computed run: what it read (the compressed canonical snapshot and the rules), the
    hashes of both, and its results. Never updated after insert."""

    __tablename__ = "attribution_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(
        ForeignKey("rulesets.id", ondelete="CASCADE"), index=True
    )
    ruleset_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # official | preview
    content_hash: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64))
    lines_hash: Mapped[str] = mapped_column(String(64))
    period_from: Mapped[str] = mapped_column(String(7))
    period_to: Mapped[str] = mapped_column(String(7))
    as_of: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    replica_after: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(index=True)
    timings: Mapped[dict[str, Any]]
    totals: Mapped[dict[str, Any]]
    gaps: Mapped[list[Any]]
    warnings: Mapped[list[Any]]
    unattributed: Mapped[list[Any]]
    epics: Mapped[list[Any]]  # per-epic realized, run-rate, payback (+ team, streams)
    rules: Mapped[dict[str, Any]]  # the rules as computed with (a draft may change later)
    snapshot: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # zlib(canonical JSON)


class BenefitLine(Base):
    """One epic x KPI x period line of a run, in the engine's order (`seq`).

    No foreign key to the run on purpose: lines are written with their run in one
    transaction and never change, and a per-row FK check costs a third of a 360k-line
    insert on SQLite."""

    __tablename__ = "benefit_lines"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epic_id: Mapped[str] = mapped_column(String(64))
    epic_key: Mapped[str] = mapped_column(String(100))
    kpi: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(7))
    uplift: Mapped[str] = mapped_column(String(DEC))
    share: Mapped[str] = mapped_column(String(DEC))
    ramp: Mapped[str] = mapped_column(String(DEC))
    period_value: Mapped[str | None] = mapped_column(String(DEC))
    benefit: Mapped[str | None] = mapped_column(String(DEC))
    cumulative: Mapped[str | None] = mapped_column(String(DEC))
    currency: Mapped[str] = mapped_column(String(3))


# --- replica of outcomes data ------------------------------------------------------------
# Every table keeps every version (one row per change-feed entry, keyed by its `seq`):
# `recorded_at` is when outcomes knew it, `superseded_at` when a later version replaced it.
# The state known at T is the row with recorded_at <= T < superseded_at (or none).


class ReplicaEpic(Base):
    __tablename__ = "replica_epics"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(200))
    streams: Mapped[list[str]]
    planned_cost_amount: Mapped[str | None] = mapped_column(String(DEC))
    planned_cost_currency: Mapped[str | None] = mapped_column(String(3))
    start_date: Mapped[str | None] = mapped_column(String(10))
    recorded_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_replica_epics_id_current", "id", "superseded_at"),)


class ReplicaKpi(Base):
    __tablename__ = "replica_kpis"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    stream: Mapped[str | None] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    cadence: Mapped[str] = mapped_column(String(10))
    baseline: Mapped[str | None] = mapped_column(String(DEC))
    target: Mapped[str | None] = mapped_column(String(DEC))
    target_due: Mapped[str | None] = mapped_column(String(10))
    vpu_amount: Mapped[str | None] = mapped_column(String(DEC))
    vpu_currency: Mapped[str | None] = mapped_column(String(3))
    vpu_per: Mapped[str | None] = mapped_column(String(5))
    recorded_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_replica_kpis_slug_current", "slug", "superseded_at"),)


class ReplicaContribution(Base):
    __tablename__ = "replica_contributions"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epic_id: Mapped[str] = mapped_column(String(64))
    kpi: Mapped[str] = mapped_column(String(100))
    expected_uplift: Mapped[str | None] = mapped_column(String(DEC))
    claimed_share: Mapped[str | None] = mapped_column(String(DEC))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_replica_contributions_key_current", "epic_id", "kpi", "superseded_at"),
    )


class ReplicaMeasurement(Base):
    __tablename__ = "replica_measurements"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kpi: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(7))
    segment: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(DEC))
    version: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_replica_measurements_key_current", "kpi", "period", "segment", "superseded_at"),
    )


class ReplicaState(Base):
    """Where the follower is in the outcomes change feed (one row, id 1)."""

    __tablename__ = "replica_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    after: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    head: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
    last_error_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- idempotency -----------------------------------------------------------------------


class IdempotencyRecord(Base):
    """The first response to a POST with an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "attribution_idempotency_keys"

    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_headers: Mapped[dict[str, Any]]
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "AttributionRun",
    "Base",
    "BenefitLine",
    "IdempotencyRecord",
    "ReplicaContribution",
    "ReplicaEpic",
    "ReplicaKpi",
    "ReplicaMeasurement",
    "ReplicaState",
    "RuleSet",
    "RuleSetVersion",
    "api_keys",
]
