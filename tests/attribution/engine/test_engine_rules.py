"""The rules document: strict validation with JSON paths, merging, and the content hash."""

import copy
from decimal import Decimal
from typing import Any

import pytest

from attribution.engine import (
    RulesError,
    TrailingMean,
    content_hash,
    normalized_rules,
    parse_rules,
    resolve,
)
from attribution.engine.examples import worked_example_rules


def _problems(doc: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(RulesError) as caught:
        parse_rules(doc)
    return [(p.path, p.message) for p in caught.value.problems]


def _paths(doc: dict[str, Any]) -> list[tuple[str | int, ...]]:
    return [path for path, _ in _problems(doc)]


def _with(path: list[str], value: object) -> dict[str, Any]:
    doc = worked_example_rules()
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return doc


def test_the_design_example_parses() -> None:
    rules = parse_rules(worked_example_rules())
    assert rules.currency == "USD"
    assert rules.fx == {"EUR": Decimal("1.08")}
    assert rules.defaults.confidence == Decimal("0.8")
    vpu = rules.kpis["checkout-conversion"].value_per_unit
    assert vpu is not None
    assert (vpu.amount, vpu.currency, vpu.per) == (Decimal("8000000"), "USD", "year")


def test_unknown_key_is_rejected_with_its_path() -> None:
    doc = _with(["kpis", "checkout-conversion", "confdence"], "0.9")
    assert _paths(doc) == [("kpis", "checkout-conversion", "confdence")]
    assert _paths(_with(["surprise"], 1)) == [("surprise",)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "not a decimal number"),
        ("1,5", "not a decimal number"),
        ("NaN", "NaN and Infinity"),
        ("-Infinity", "NaN and Infinity"),
        (float("nan"), "NaN and Infinity"),
        (float("inf"), "NaN and Infinity"),
        (True, "boolean"),
        ([0.5], "expected a decimal"),
        ("1.5", "between 0 and 1"),
        (1.5, "between 0 and 1"),
        ("-0.1", "between 0 and 1"),
    ],
)
def test_bad_confidence(value: object, message: str) -> None:
    problems = _problems(_with(["kpis", "checkout-conversion", "confidence"], value))
    assert len(problems) == 1
    path, text = problems[0]
    assert path == ("kpis", "checkout-conversion", "confidence")
    assert message in text


def test_ramp_fractions_are_checked_one_by_one() -> None:
    problems = _problems(_with(["defaults", "ramp"], ["0.5", 2, "0.75"]))
    assert problems == [(("defaults", "ramp", 1), "must be between 0 and 1")]


def test_currency_without_fx_rate() -> None:
    doc = _with(
        ["kpis", "checkout-conversion", "value_per_unit"],
        {"amount": "7000000", "currency": "GBP", "per": "year"},
    )
    [(path, message)] = _problems(doc)
    assert path == ("kpis", "checkout-conversion", "value_per_unit", "currency")
    assert "GBP" in message and "fx" in message
    eur = _with(["kpis", "checkout-conversion", "value_per_unit", "currency"], "EUR")
    assert parse_rules(eur).fx["EUR"] == Decimal("1.08")


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["currency"], "usd", ("currency",)),
        (["fx", "EUR"], "0", ("fx", "EUR")),
        (["fx", "EUR"], "-1.08", ("fx", "EUR")),
        (["fx", "USD"], "1.1", ("fx", "USD")),
        (["defaults", "baseline"], {"trailing_mean": 0}, ("defaults", "baseline")),
        (["defaults", "baseline"], {"trailing_mean": True}, ("defaults", "baseline")),
        (["defaults", "baseline"], "measured", ("defaults", "baseline")),
        (["defaults", "method"], "diff_in_diff", ("defaults", "method")),
        (["defaults", "split"], "fair", ("defaults", "split")),
        (["defaults", "lag_periods"], -1, ("defaults", "lag_periods")),
        (["defaults", "lag_periods"], "2", ("defaults", "lag_periods")),
        (["defaults", "cap_at_target"], "yes", ("defaults", "cap_at_target")),
        (
            ["kpis", "checkout-conversion", "value_per_unit", "per"],
            "week",
            ("kpis", "checkout-conversion", "value_per_unit", "per"),
        ),
        (
            ["kpis", "checkout-conversion", "value_per_unit", "amount"],
            "-5",
            ("kpis", "checkout-conversion", "value_per_unit", "amount"),
        ),
    ],
)
def test_field_errors_carry_json_paths(path: list[str], value: object, where: tuple[str]) -> None:
    assert _paths(_with(path, value)) == [where]


def test_every_problem_is_reported_at_once() -> None:
    doc = worked_example_rules()
    doc["defaults"]["confidence"] = "1.5"
    doc["defaults"]["ramp"] = [2]
    doc["kpis"]["cost-per-ticket"]["oops"] = 1
    assert sorted(map(str, _paths(doc))) == sorted(
        map(
            str,
            [
                ("defaults", "confidence"),
                ("defaults", "ramp", 0),
                ("kpis", "cost-per-ticket", "oops"),
            ],
        )
    )


def test_not_an_object() -> None:
    with pytest.raises(RulesError):
        parse_rules([])  # type: ignore[arg-type]


def test_resolve_merges_field_by_field() -> None:
    doc = worked_example_rules()
    doc["defaults"]["baseline"] = {"trailing_mean": 3}
    rules = parse_rules(doc)
    cost = resolve(rules, "cost-per-ticket")
    assert cost.confidence == Decimal("1")
    assert cost.split == "equal"
    assert cost.baseline == TrailingMean(trailing_mean=3)
    assert cost.value_per_unit is None
    checkout = resolve(rules, "checkout-conversion")
    assert checkout.confidence == Decimal("0.8")
    assert checkout.value_per_unit is not None
    unknown = resolve(rules, "not-in-rules")
    assert unknown.split == "claimed"


def test_builtin_defaults_apply_when_defaults_are_silent() -> None:
    effective = resolve(parse_rules({"currency": "EUR"}), "any")
    assert (effective.baseline, effective.method, effective.split) == (
        "agreed",
        "baseline_delta",
        "claimed",
    )
    assert effective.confidence == 1
    assert (effective.cap_at_target, effective.allow_negative) == (True, False)
    assert (effective.lag_periods, effective.ramp) == (0, ())


def test_hash_ignores_how_decimals_are_written() -> None:
    base = content_hash(worked_example_rules())
    for spelled in ["0.80", 0.8, "8E-1", Decimal("0.800"), "+0.8"]:
        assert content_hash(_with(["defaults", "confidence"], spelled)) == base
    same_amount = _with(["kpis", "checkout-conversion", "value_per_unit", "amount"], 8_000_000)
    assert content_hash(same_amount) == base
    assert content_hash(_with(["fx", "EUR"], 1.080)) == base


def test_hash_ignores_key_order_nulls_and_spelled_out_builtins() -> None:
    doc = worked_example_rules()
    reordered = dict(reversed(list(copy.deepcopy(doc).items())))
    assert content_hash(reordered) == content_hash(doc)
    with_null = _with(["kpis", "checkout-conversion", "confidence"], None)
    assert content_hash(with_null) == content_hash(doc)
    minimal = {"currency": "USD"}
    explicit = {"currency": "USD", "fx": {}, "kpis": {}, "defaults": {"confidence": 1, "ramp": []}}
    assert content_hash(minimal) == content_hash(explicit)


def test_hash_changes_with_meaning() -> None:
    base = content_hash(worked_example_rules())
    assert content_hash(_with(["defaults", "confidence"], "0.81")) != base
    # Overriding with the default's own value still records a decision of finance.
    assert content_hash(_with(["kpis", "checkout-conversion", "confidence"], "0.8")) != base


def test_normalized_form_is_plain_json() -> None:
    normalized = normalized_rules(parse_rules(_with(["defaults", "confidence"], "0.80")))
    assert normalized["defaults"]["confidence"] == "0.8"  # type: ignore[index,call-overload]
    assert normalized["fx"] == {"EUR": "1.08"}
