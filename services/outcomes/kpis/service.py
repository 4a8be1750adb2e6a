"""KPIs: create, read, merge-patch, and the finance-agreed baseline.

The baseline is the number every benefit is measured against, so only finance may set it,
only through `agree_baseline`, and each agreement is a `baseline_agreed` change-log entry
(the log keeps every earlier agreement). PATCH never touches it.
"""

from __future__ import annotations

from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.errors import ValidationFailed
from ledgerkit.pagination import decode_cursor, encode_cursor
from ledgerkit.timeutil import as_utc, utcnow
from outcomes.changes.service import record_change
from outcomes.kpis import store
from outcomes.kpis.errors import CadenceInUse, DuplicateKpiSlug, KpiNotFound
from outcomes.kpis.schemas import (
    Baseline,
    BaselineAgree,
    Cadence,
    Direction,
    KpiCreate,
    KpiPage,
    KpiRead,
    KpiUpdate,
    Per,
    ScorecardLine,
    Stream,
    Target,
    Unit,
    ValuePerUnit,
    default_scorecard_line,
)
from outcomes.models import Kpi


def kpi_read(kpi: Kpi) -> KpiRead:
    baseline = None
    if kpi.baseline_value is not None and kpi.baseline_as_of is not None:
        baseline = Baseline(
            value=kpi.baseline_value,
            as_of=kpi.baseline_as_of,
            source=kpi.baseline_source,
            agreed_by=kpi.baseline_agreed_by,
            agreed_at=as_utc(kpi.baseline_agreed_at or kpi.updated_at),
        )
    target = (
        Target(value=kpi.target_value, due=kpi.target_due) if kpi.target_value is not None else None
    )
    vpu = (
        ValuePerUnit(
            amount=kpi.value_per_unit_amount,
            currency=kpi.value_per_unit_currency or "USD",
            per=cast(Per, kpi.value_per_unit_per or "year"),
        )
        if kpi.value_per_unit_amount is not None
        else None
    )
    return KpiRead(
        slug=kpi.slug,
        name=kpi.name,
        stream=cast(Stream | None, kpi.stream),
        unit=cast(Unit, kpi.unit),
        direction=cast(Direction, kpi.direction),
        cadence=cast(Cadence, kpi.cadence),
        baseline=baseline,
        target=target,
        value_per_unit=vpu,
        owners=list(kpi.owners or []),
        scorecard_line=cast(
            ScorecardLine, kpi.scorecard_line or default_scorecard_line(kpi.stream)
        ),
        version=kpi.version,
        created_at=as_utc(kpi.created_at),
        updated_at=as_utc(kpi.updated_at),
    )


def kpi_data(kpi: Kpi) -> dict[str, Any]:
    """The KPI's REST read shape as JSON types (the change-log `data`)."""
    return kpi_read(kpi).model_dump(mode="json")


async def get_kpi(session: AsyncSession, slug: str, *, for_update: bool = False) -> Kpi:
    """The KPI or `KpiNotFound`. `for_update` locks its row (PostgreSQL) — the per-KPI lock
    that serializes measurement writers and the contribution overlap guard."""
    kpi = await store.get_by_slug(session, slug, for_update=for_update)
    if kpi is None:
        raise KpiNotFound(f"No KPI with slug {slug!r}.", slug=slug)
    return kpi


def _apply_target(kpi: Kpi, target: Target | None) -> None:
    kpi.target_value = target.value if target else None
    kpi.target_due = target.due if target else None


def _apply_value_per_unit(kpi: Kpi, vpu: ValuePerUnit | None) -> None:
    kpi.value_per_unit_amount = vpu.amount if vpu else None
    kpi.value_per_unit_currency = vpu.currency if vpu else None
    kpi.value_per_unit_per = vpu.per if vpu else None


async def create_kpi(session: AsyncSession, body: KpiCreate, *, actor: str) -> Kpi:
    if await store.slug_exists(session, body.slug):
        raise DuplicateKpiSlug(f"A KPI with slug {body.slug!r} already exists.", slug=body.slug)
    stream = body.stream
    kpi = Kpi(
        slug=body.slug,
        name=body.name,
        stream=stream,
        unit=body.unit,
        direction=body.direction,
        cadence=body.cadence,
        owners=list(body.owners),
        scorecard_line=body.scorecard_line or default_scorecard_line(stream),
        version=1,
    )
    _apply_target(kpi, body.target)
    _apply_value_per_unit(kpi, body.value_per_unit)
    session.add(kpi)
    await session.flush()
    record_change(
        session, actor=actor, entity="kpi", entity_id=kpi.slug, action="created", data=kpi_data(kpi)
    )
    return kpi


async def list_kpis(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    stream: str | None,
    scorecard_line: str | None,
    q: str | None,
) -> KpiPage:
    position = decode_cursor(cursor)
    if position is not None and not isinstance(position, int):
        raise ValidationFailed(
            "The cursor is not one this endpoint issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    rows = await store.list_kpis(
        session,
        after_pk=position,
        limit=limit,
        stream=stream,
        scorecard_line=scorecard_line,
        q=q,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return KpiPage(
        items=[kpi_read(k) for k in rows],
        next_cursor=encode_cursor(rows[-1].pk) if more and rows else None,
    )


def _merge(current: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current or {})
    for k, v in patch.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = v
    return merged


def _revalidate(model: type[Target] | type[ValuePerUnit], data: dict[str, Any], field: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            f"body.{field}: the merged {field} is incomplete or invalid",
            errors=[
                {"loc": ["body", field, *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ],
        ) from exc


async def update_kpi(session: AsyncSession, kpi: Kpi, patch: KpiUpdate, *, actor: str) -> Kpi:
    """Apply a JSON merge patch. Unchanged patches do not bump the version or log a change."""
    fields = patch.model_fields_set
    raw = patch.model_dump(exclude_unset=True)
    before = kpi_data(kpi)
    not_nullable = {"name", "unit", "direction", "cadence", "owners"}
    for name in sorted(fields & not_nullable):
        if raw[name] is None:
            raise ValidationFailed(
                f"body.{name}: {name} cannot be null",
                errors=[{"loc": ["body", name], "msg": "cannot be null"}],
            )
    if patch.name is not None:
        kpi.name = patch.name
    if patch.unit is not None:
        kpi.unit = patch.unit
    if patch.direction is not None:
        kpi.direction = patch.direction
    if patch.owners is not None:
        kpi.owners = list(patch.owners)
    if patch.cadence is not None and patch.cadence != kpi.cadence:
        if await store.has_measurements(session, kpi.pk):
            raise CadenceInUse(
                f"KPI {kpi.slug!r} has measurements with {kpi.cadence} periods; "
                "its cadence cannot change.",
                slug=kpi.slug,
            )
        kpi.cadence = patch.cadence
    if "stream" in fields:
        old_default = default_scorecard_line(kpi.stream)
        kpi.stream = patch.stream
        # A scorecard line that was only the old stream's default follows the stream.
        if "scorecard_line" not in fields and kpi.scorecard_line == old_default:
            kpi.scorecard_line = default_scorecard_line(kpi.stream)
    if "scorecard_line" in fields:
        line = patch.scorecard_line or default_scorecard_line(kpi.stream)
        kpi.scorecard_line = line
    if "target" in fields:
        if raw["target"] is None:
            _apply_target(kpi, None)
        else:
            current = before["target"]
            merged = _merge(current, raw["target"])
            _apply_target(kpi, _revalidate(Target, merged, "target"))
    if "value_per_unit" in fields:
        if raw["value_per_unit"] is None:
            _apply_value_per_unit(kpi, None)
        else:
            merged = _merge(before["value_per_unit"], raw["value_per_unit"])
            _apply_value_per_unit(kpi, _revalidate(ValuePerUnit, merged, "value_per_unit"))
    after = kpi_data(kpi)
    if {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }:
        return kpi
    kpi.version += 1
    await session.flush()
    record_change(
        session, actor=actor, entity="kpi", entity_id=kpi.slug, action="updated", data=kpi_data(kpi)
    )
    return kpi


async def agree_baseline(
    session: AsyncSession, kpi: Kpi, body: BaselineAgree, *, actor: str
) -> Kpi:
    """Record finance's agreed baseline (value, as-of date, source, who agreed, when)."""
    kpi.baseline_value = body.value
    kpi.baseline_as_of = body.as_of
    kpi.baseline_source = body.source
    kpi.baseline_agreed_by = body.agreed_by or actor
    kpi.baseline_agreed_at = utcnow()
    kpi.version += 1
    await session.flush()
    record_change(
        session,
        actor=actor,
        entity="kpi",
        entity_id=kpi.slug,
        action="baseline_agreed",
        data=kpi_data(kpi),
    )
    return kpi
