# mypy: disable-error-code="untyped-decorator"
"""Mutations for the portal's main writes. Each one calls the SAME domain service function
as its REST route (validation, rules, change-log entries live there only), inside one write
unit of work that commits before the answer is sent. Domain errors become GraphQL errors
whose `extensions.code` is the REST problem's code (`duplicate-epic-key`, …)."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from pydantic import ValidationError

from ledgerkit.errors import PayloadTooLarge
from ledgerkit.graphql import require_scope
from ledgerkit.graphql_scalars import MoneyInput, Period
from outcomes.decisions import service as decision_service
from outcomes.decisions.schemas import DecisionCreate
from outcomes.epics import service as epics
from outcomes.epics.schemas import EpicCreate
from outcomes.graphql.types import (
    Ctx,
    Decision,
    Epic,
    EpicSource,
    EpicStatus,
    Stream,
    epic_node,
)
from outcomes.kpis.service import get_kpi
from outcomes.measurements import service as measurement_service
from outcomes.measurements.schemas import MAX_BATCH, MeasurementWrite

UNSET: Any = strawberry.UNSET


def input_dict(value: Any) -> Any:
    """A strawberry input as the JSON-like dict the domain models validate: absent (UNSET)
    fields are left out, `null` kept (merge patch: remove), enums as their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: input_dict(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not UNSET
        }
    if isinstance(value, list):
        return [input_dict(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


@strawberry.input
class ProofPlanInput:
    days: int | None = UNSET
    stop_if: str | None = UNSET
    scale_if: str | None = UNSET


@strawberry.input(description="The value hypothesis; in `updateEpic` it merges field by field.")
class HypothesisInput:
    statement: str | None = UNSET
    for_whom: str | None = UNSET
    economic_logic: str | None = UNSET
    assumptions: list[str] | None = UNSET
    risks: list[str] | None = UNSET
    leading_indicators: list[str] | None = UNSET
    lagging_indicators: list[str] | None = UNSET
    proof_plan: ProofPlanInput | None = UNSET


@strawberry.input(description="A new epic (as `POST /v1/epics`): only `key` and `title` needed.")
class EpicInput:
    key: str
    title: str
    streams: list[Stream] | None = UNSET
    status: EpicStatus | None = UNSET
    source: EpicSource | None = UNSET
    source_id: str | None = UNSET
    owner: str | None = UNSET
    team: str | None = UNSET
    planned_cost: MoneyInput | None = UNSET
    start_date: date | None = UNSET
    target_date: date | None = UNSET
    hypothesis: HypothesisInput | None = UNSET
    change_type: str | None = UNSET
    sponsor: str | None = UNSET
    labels: list[str] | None = UNSET


@strawberry.input(
    description="A merge patch (as `PATCH /v1/epics/{ref}`): absent = unchanged, `null` = "
    "remove; the result must pass the create rules."
)
class EpicPatch:
    key: str | None = UNSET
    title: str | None = UNSET
    streams: list[Stream] | None = UNSET
    status: EpicStatus | None = UNSET
    source: EpicSource | None = UNSET
    source_id: str | None = UNSET
    owner: str | None = UNSET
    team: str | None = UNSET
    planned_cost: MoneyInput | None = UNSET
    start_date: date | None = UNSET
    target_date: date | None = UNSET
    hypothesis: HypothesisInput | None = UNSET
    change_type: str | None = UNSET
    sponsor: str | None = UNSET
    labels: list[str] | None = UNSET


@strawberry.input(description="One KPI value (as `POST /v1/kpis/{slug}/measurements`).")
class MeasurementInput:
    period: Period
    value: Decimal
    segment: str = "all"
    source: str | None = None


@strawberry.input(description="A decision (as `POST /v1/epics/{ref}/decisions`).")
class DecisionInput:
    decided_on: date
    decision: str = strawberry.field(
        description="continue, course_correct, scale, pause or cut (pause/cut set the status)."
    )
    grade: str | None = strawberry.field(
        default=UNSET, description="realized, on_track, delayed or disproven."
    )
    rationale: str | None = UNSET
    decided_by: str | None = strawberry.field(
        default=UNSET, description="Defaults to the caller (API key name)."
    )


@strawberry.type
class MeasurementWriteResult:
    created: int = strawberry.field(description="New (period, segment) values.")
    corrected: int = strawberry.field(description="New versions of values that changed.")
    unchanged: int = strawberry.field(description="Re-sent values equal to the current one.")


def _validated(model: Any, data: Any, loc: tuple[str | int, ...]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise epics.validation_failed(exc, loc) from exc


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an epic (needs `write`).")
    async def create_epic(self, info: Ctx, input: EpicInput) -> Epic:
        principal = require_scope(info, "write")
        data = _validated(EpicCreate, input_dict(input), ("input",))
        async with info.context.write_session() as session:
            epic = await epics.create_epic(session, data, principal.name)
        return epic_node(None, epic)

    @strawberry.mutation(
        description="Merge-patch an epic by id or key (needs `write`); `expectedVersion` is "
        "`If-Match`: a different current version fails with `precondition-failed`."
    )
    async def update_epic(
        self, info: Ctx, ref: str, patch: EpicPatch, expected_version: int | None = None
    ) -> Epic:
        principal = require_scope(info, "write")
        async with info.context.write_session() as session:
            epic = await epics.get_epic(session, ref)
            epic = await epics.update_epic(
                session,
                epic,
                input_dict(patch),
                principal.name,
                expected_version=expected_version,
            )
        return epic_node(None, epic)

    @strawberry.mutation(
        description="Record KPI values (≤ 10,000), all or nothing (needs `write`). A new value "
        "for a stored (period, segment) is a correction; the old version is kept."
    )
    async def record_measurements(
        self, info: Ctx, kpi: str, measurements: list[MeasurementInput]
    ) -> MeasurementWriteResult:
        principal = require_scope(info, "write")
        if len(measurements) > MAX_BATCH:
            raise PayloadTooLarge(
                f"{len(measurements)} measurements in one request; the limit is {MAX_BATCH}."
            )
        rows = [
            _validated(MeasurementWrite, input_dict(m), ("measurements", i))
            for i, m in enumerate(measurements)
        ]
        async with info.context.write_session() as session:
            found = await get_kpi(session, kpi, for_update=True)
            result = await measurement_service.write_measurements(
                session, found, rows, actor=principal.name, bulk=True
            )
        return MeasurementWriteResult(
            created=result.created, corrected=result.corrected, unchanged=result.unchanged
        )

    @strawberry.mutation(
        description="Append a decision to an epic's log (needs `write`); `pause`/`cut` move "
        "the epic's status, as the REST route does."
    )
    async def record_decision(
        self,
        info: Ctx,
        epic: str,
        input: DecisionInput,
    ) -> Decision:
        principal = require_scope(info, "write")
        data = _validated(DecisionCreate, input_dict(input), ("input",))
        async with info.context.write_session() as session:
            found = await epics.get_epic(session, epic)
            read = await decision_service.record_decision(session, found, data, principal.name)
            epic_pk = found.pk
        return Decision(
            epic_pk=epic_pk,
            id=strawberry.ID(read.id),
            decided_on=read.decided_on,
            decision=read.decision,
            grade=read.grade,
            rationale=read.rationale,
            decided_by=read.decided_by,
            created_at=read.created_at,
        )
