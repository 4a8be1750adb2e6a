"""The input snapshot: everything a run reads, as already resolved by the caller.

Values are "as known at the run's ``as_of``" (the bitemporal read is the caller's job); the
engine only sees one value per (KPI, period, segment). The snapshot is stored with the run so
``verify`` can recompute it, and its canonical form is what ``input_hash`` is taken over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from .canonical import Json, canonical_json, sha256_hex, to_json_value
from .errors import InputError, Problem
from .periods import Cadence

Direction = Literal["increase", "decrease"]
Per = Literal["year", "month"]


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str  # ISO 4217


@dataclass(frozen=True)
class ValuePerUnit:
    """Money one unit of KPI improvement is worth, per ``year`` or per ``month``."""

    amount: Decimal
    currency: str
    per: Per


@dataclass(frozen=True)
class KpiInput:
    slug: str
    stream: str
    unit: str
    direction: Direction
    cadence: Cadence
    baseline: Decimal | None = None  # the agreed baseline value
    target: Decimal | None = None
    target_due: date | None = None
    value_per_unit: ValuePerUnit | None = None


@dataclass(frozen=True)
class EpicInput:
    id: str
    key: str
    title: str = ""
    streams: tuple[str, ...] = ()
    team: str | None = None
    planned_cost: Money | None = None
    start_date: date | None = None
    status: str = "active"


@dataclass(frozen=True)
class ContributionInput:
    epic_id: str
    kpi: str
    expected_uplift: Decimal | None = None
    claimed_share: Decimal | None = None


@dataclass(frozen=True)
class MeasurementInput:
    kpi: str
    period: str
    value: Decimal
    segment: str = "all"


@dataclass(frozen=True)
class Snapshot:
    kpis: tuple[KpiInput, ...] = ()
    epics: tuple[EpicInput, ...] = ()
    contributions: tuple[ContributionInput, ...] = ()
    measurements: tuple[MeasurementInput, ...] = ()

    def canonical(self) -> Snapshot:
        """The same snapshot in a fixed order, so the order the caller read rows in is moot."""
        return Snapshot(
            kpis=tuple(sorted(self.kpis, key=lambda k: k.slug)),
            epics=tuple(
                sorted(
                    (_sorted_streams(e) for e in self.epics),
                    key=lambda e: (e.id, e.key),
                )
            ),
            contributions=tuple(sorted(self.contributions, key=lambda c: (c.epic_id, c.kpi))),
            measurements=tuple(
                sorted(self.measurements, key=lambda m: (m.kpi, m.period, m.segment, m.value))
            ),
        )

    def to_dict(self) -> dict[str, Json]:
        """Plain JSON (decimals as strings, dates ISO) in canonical order; for storage."""
        data = to_json_value(self.canonical())
        assert isinstance(data, dict)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Read a stored snapshot back (the inverse of :meth:`to_dict`)."""
        try:
            return _SNAPSHOT_ADAPTER.validate_python(dict(data))
        except ValidationError as exc:
            raise InputError(
                [Problem(tuple(err["loc"]), err["msg"]) for err in exc.errors()]
            ) from exc

    def to_canonical(self) -> bytes:
        return self._canonical_bytes

    @cached_property
    def _canonical_bytes(self) -> bytes:
        # Computed once per snapshot: a run hashes it and then stores it compressed.
        return canonical_json(self.canonical())


def _sorted_streams(epic: EpicInput) -> EpicInput:
    # Streams are a set in the domain; their order must not change the hash.
    return replace(epic, streams=tuple(sorted(epic.streams)))


def input_hash(snapshot: Snapshot) -> str:
    """sha256 hex of the canonical snapshot."""
    return sha256_hex(snapshot.to_canonical())


_SNAPSHOT_ADAPTER: TypeAdapter[Snapshot] = TypeAdapter(Snapshot)
