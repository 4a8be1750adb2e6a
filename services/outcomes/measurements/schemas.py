"""Measurement request and response models, and the parsing of single-or-bulk bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ledgerkit.errors import PayloadTooLarge, ValidationFailed
from outcomes.kpis.schemas import KpiValue

MAX_BATCH = 10_000

Period = Annotated[
    str,
    Field(
        min_length=1,
        max_length=16,
        description="`YYYY-MM` for monthly KPIs, `YYYY-Qn` for quarterly ones.",
        examples=["2026-04"],
    ),
]
Segment = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="`all` unless the KPI is measured per segment (e.g. treatment/control).",
    ),
]


class MeasurementWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period
    value: KpiValue
    segment: Segment = "all"
    source: str | None = Field(default=None, max_length=300)


class MeasurementWriteResult(BaseModel):
    created: int = Field(description="New (period, segment) values.")
    corrected: int = Field(description="New versions of values that changed (old ones kept).")
    unchanged: int = Field(description="Re-sent values equal to the current version.")


class MeasurementRead(BaseModel):
    kpi: str
    period: str
    segment: str
    value: KpiValue
    source: str | None
    recorded_at: datetime
    version: int


class MeasurementPage(BaseModel):
    items: list[MeasurementRead]
    next_cursor: str | None = None


class MeasurementVersionRead(MeasurementRead):
    superseded_at: datetime | None = Field(
        description="When a correction replaced this version; null for the current one."
    )
    recorded_by: str | None


class MeasurementVersionPage(BaseModel):
    items: list[MeasurementVersionRead]
    next_cursor: str | None = None


_ONE = TypeAdapter(MeasurementWrite)
_MANY = TypeAdapter(list[MeasurementWrite])


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def _fail(errors: list[dict[str, Any]]) -> ValidationFailed:
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ValidationFailed(f"{where}: {first['msg']}{more}; nothing was stored", errors=errors)


def parse_measurements(payload: Any) -> tuple[list[MeasurementWrite], bool]:
    """One measurement object or a list of them (≤ 10,000) → (rows, was_a_list).

    Errors point at the row: `["body", 17, "period"]` for a list, `["body", "period"]` for a
    single object.
    """
    if isinstance(payload, list):
        if len(payload) > MAX_BATCH:
            raise PayloadTooLarge(
                f"{len(payload)} measurements in one request; the limit is {MAX_BATCH}. "
                "Split the batch; nothing was stored.",
                limit=MAX_BATCH,
            )
        try:
            return _MANY.validate_python(payload), True
        except ValidationError as exc:
            raise _fail(_errors(exc)) from exc
    if isinstance(payload, dict):
        try:
            return [_ONE.validate_python(payload)], False
        except ValidationError as exc:
            raise _fail(_errors(exc)) from exc
    raise _fail([{"loc": ["body"], "msg": "expected a measurement object or a list of them"}])


def openapi_body() -> dict[str, Any]:
    """The request body as documented (validated by `parse_measurements`)."""
    one = MeasurementWrite.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "title": "MeasurementWriteBody",
                        "anyOf": [
                            one,
                            {"type": "array", "items": one, "maxItems": MAX_BATCH},
                        ],
                    }
                }
            },
        }
    }
