"""The rules finance agrees: a typed, validated model of a rule set version's ``rules``.

Parsing is strict on purpose: a typo in an agreed document (``"confidnce"``) must be
refused, not silently ignored, because the agreed text is what finance signs off.
Decimals are accepted as strings or JSON numbers, read exactly (``0.8`` → ``Decimal("0.8")``)
and kept in normalized form, so equivalent documents hash the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from .canonical import Json, canonical_json, normalize_decimal, sha256_hex, to_json_value
from .errors import Problem, RulesError
from .inputs import ValuePerUnit

Method = Literal["baseline_delta", "control_group"]
Split = Literal["claimed", "equal", "weighted"]

_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Far beyond any KPI value or amount; stops "1e999999" from becoming a million-digit string.
_MAX_MAGNITUDE = 18


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "expected a decimal number, got a boolean")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("decimal_finite", "NaN and Infinity are not allowed")
        # repr() is the shortest text that round-trips: 0.8 reads as 0.8, not as the
        # binary expansion 0.8000000000000000444.
        number = Decimal(repr(value))
    elif isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            if value.strip().lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
                raise PydanticCustomError("decimal_finite", "NaN and Infinity are not allowed")
            raise PydanticCustomError(
                "decimal_parsing", "not a decimal number: {text}", {"text": value}
            )
        number = Decimal(value)
    else:
        raise PydanticCustomError("decimal_type", "expected a decimal as a string or a number")
    if not number.is_finite():
        raise PydanticCustomError("decimal_finite", "NaN and Infinity are not allowed")
    if number and not -_MAX_MAGNITUDE <= number.adjusted() <= _MAX_MAGNITUDE:
        raise PydanticCustomError("decimal_range", "decimal out of range")
    return normalize_decimal(number)


def _fraction(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise PydanticCustomError("fraction", "must be between 0 and 1")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise PydanticCustomError("positive", "must be greater than 0")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("non_negative", "must be 0 or greater")
    return value


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise PydanticCustomError(
            "currency", "expected an ISO 4217 currency code (3 upper-case letters)"
        )
    return value


DecimalValue = Annotated[Decimal, BeforeValidator(_to_decimal)]
Fraction = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_fraction)]
PositiveDecimal = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_positive)]
NonNegativeDecimal = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_non_negative)]
CurrencyCode = Annotated[str, BeforeValidator(_currency)]
KpiSlug = Annotated[StrictStr, Field(min_length=1)]


class _StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrailingMean(_StrictModel):
    """Baseline = mean of the ``trailing_mean`` periods before the epic's start."""

    trailing_mean: int


def _baseline(value: object) -> object:
    if isinstance(value, TrailingMean) or value == "agreed":
        return value
    if isinstance(value, Mapping) and set(value) == {"trailing_mean"}:
        n = value["trailing_mean"]
        if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
            return TrailingMean(trailing_mean=n)
        raise PydanticCustomError("baseline", "trailing_mean must be a whole number >= 1")
    raise PydanticCustomError(
        "baseline", 'expected "agreed" or an object with one key, "trailing_mean"'
    )


Baseline = Annotated[Literal["agreed"] | TrailingMean, BeforeValidator(_baseline)]


class ValuePerUnitRule(_StrictModel):
    amount: NonNegativeDecimal
    currency: CurrencyCode
    per: Literal["year", "month"]

    def to_input(self) -> ValuePerUnit:
        return ValuePerUnit(amount=self.amount, currency=self.currency, per=self.per)


class RuleFields(_StrictModel):
    """The overridable rules. In ``defaults`` and in each ``kpis`` entry; unset = inherit."""

    baseline: Baseline | None = None
    method: Method | None = None
    split: Split | None = None
    confidence: Fraction | None = None
    cap_at_target: StrictBool | None = None
    allow_negative: StrictBool | None = None
    lag_periods: Annotated[StrictInt, Field(ge=0)] | None = None
    ramp: tuple[Fraction, ...] | None = None
    value_per_unit: ValuePerUnitRule | None = None


class RulesDocument(_StrictModel):
    currency: CurrencyCode
    fx: dict[CurrencyCode, PositiveDecimal] = Field(default_factory=dict)
    defaults: RuleFields = Field(default_factory=RuleFields)
    kpis: dict[KpiSlug, RuleFields] = Field(default_factory=dict)


# What a rule means when neither the KPI entry nor ``defaults`` sets it: the most
# conservative reading (agreed baseline, claimed shares, cap at target, no negatives) and
# no haircut, lag or ramp.
BUILTIN_DEFAULTS = RuleFields(
    baseline="agreed",
    method="baseline_delta",
    split="claimed",
    confidence=Decimal(1),
    cap_at_target=True,
    allow_negative=False,
    lag_periods=0,
    ramp=(),
)


@dataclass(frozen=True)
class EffectiveRules:
    """The rules that apply to one KPI: its entry over ``defaults`` over the built-ins."""

    baseline: Literal["agreed"] | TrailingMean
    method: Method
    split: Split
    confidence: Decimal
    cap_at_target: bool
    allow_negative: bool
    lag_periods: int
    ramp: tuple[Decimal, ...]
    value_per_unit: ValuePerUnit | None  # None: use the KPI's own agreed value_per_unit
    currency: str
    fx: Mapping[str, Decimal]


def _merged(*layers: RuleFields) -> dict[str, Any]:
    # Field by field, first layer that sets it wins; value_per_unit overrides as a whole.
    merged: dict[str, Any] = {}
    for name in RuleFields.model_fields:
        merged[name] = next(
            (getattr(layer, name) for layer in layers if getattr(layer, name) is not None),
            None,
        )
    return merged


def resolve(rules: RulesDocument, kpi_slug: str) -> EffectiveRules:
    entry = rules.kpis.get(kpi_slug, RuleFields())
    merged = _merged(entry, rules.defaults, BUILTIN_DEFAULTS)
    vpu: ValuePerUnitRule | None = merged.pop("value_per_unit")
    return EffectiveRules(
        **merged,
        value_per_unit=vpu.to_input() if vpu is not None else None,
        currency=rules.currency,
        fx=dict(rules.fx),
    )


def check_rules(rules: RulesDocument) -> list[Problem]:
    """Checks beyond the shape: every currency the rules use has an agreed rate."""
    problems: list[Problem] = []
    if rules.currency in rules.fx and rules.fx[rules.currency] != 1:
        problems.append(
            Problem(("fx", rules.currency), "the reporting currency's rate must be 1", "fx")
        )
    entries: list[tuple[tuple[str | int, ...], RuleFields]] = [(("defaults",), rules.defaults)]
    entries += [(("kpis", slug), entry) for slug, entry in sorted(rules.kpis.items())]
    for path, entry in entries:
        vpu = entry.value_per_unit
        if vpu is not None and vpu.currency != rules.currency and vpu.currency not in rules.fx:
            problems.append(
                Problem(
                    (*path, "value_per_unit", "currency"),
                    f"{vpu.currency} is not the reporting currency ({rules.currency}) "
                    "and has no agreed rate in fx",
                    "currency_without_rate",
                )
            )
    return problems


def parse_rules(doc: Mapping[str, Any] | RulesDocument) -> RulesDocument:
    """Validate a rules document; raise :class:`RulesError` listing every problem."""
    if isinstance(doc, RulesDocument):
        rules = doc
    else:
        if not isinstance(doc, Mapping):
            raise RulesError([Problem((), "the rules must be a JSON object")])
        try:
            rules = RulesDocument.model_validate(dict(doc))
        except ValidationError as exc:
            raise RulesError(
                [
                    Problem(tuple(err["loc"]), err["msg"], err["type"])
                    for err in exc.errors(include_url=False)
                ]
            ) from exc
    if problems := check_rules(rules):
        raise RulesError(problems)
    return rules


def normalized_rules(rules: RulesDocument) -> dict[str, Json]:
    """The form the content hash is taken over.

    Normalization: decimals in canonical form (``"0.80"``, ``0.8`` → ``"0.8"``), explicit
    nulls dropped (null = inherit), and every rule ``defaults`` leaves unset filled with its
    built-in value, so spelling out a built-in default does not change the hash. KPI entries
    keep only what they set: an override equal to the default still records a decision.
    """
    defaults = _merged(rules.defaults, BUILTIN_DEFAULTS)
    data = {
        "currency": rules.currency,
        "fx": dict(rules.fx),
        "defaults": {key: value for key, value in defaults.items() if value is not None},
        "kpis": dict(rules.kpis),
    }
    normalized = to_json_value(data)
    assert isinstance(normalized, dict)
    return normalized


def content_hash(rules: RulesDocument | Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of the normalized rules."""
    return sha256_hex(canonical_json(normalized_rules(parse_rules(rules))))
