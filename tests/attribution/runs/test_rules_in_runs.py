"""Each rule of attribution.md through both services' HTTP APIs: a decrease KPI, a
quarterly KPI, control_group, lag + ramp, multi-currency."""

from __future__ import annotations

from typing import Any

from tests.attribution.helpers import Linked, ok


def _table(lines: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [
        (line["period"], line["epic"], line["benefit"]["amount"] if line["benefit"] else None)
        for line in lines
    ]


async def _benefit(linked: Linked, epic: str) -> dict[str, Any]:
    items = ok(await linked.attribution.get("/v1/benefits", params={"epic": epic}))["items"]
    assert len(items) == 1
    return items[0]  # type: ignore[no-any-return]


async def test_decrease_kpi_equal_split(linked: Linked) -> None:
    await linked.kpi(
        "cost-per-ticket",
        baseline="6.40",
        target="4.80",
        direction="decrease",
        stream="Cost",
        unit="currency",
        value_per_unit={"amount": "100000", "currency": "USD", "per": "year"},
    )
    await linked.epic("SUP-1", streams=("Cost",), team="Support")
    await linked.epic("SUP-2", streams=("Cost",), team="Support")
    await linked.contribute("SUP-1", "cost-per-ticket")
    await linked.contribute("SUP-2", "cost-per-ticket")
    await linked.measure(
        "cost-per-ticket", {"2026-04": "6.00", "2026-05": "5.20", "2026-06": "4.50"}
    )
    await linked.sync()
    rules = {
        "currency": "USD",
        "defaults": {"confidence": "0.8"},
        "kpis": {"cost-per-ticket": {"confidence": "1.0", "split": "equal"}},
    }
    ruleset, _ = await linked.agreed_ruleset(rules)
    run = await linked.run(ruleset, "2026-04", "2026-06")
    lines = await linked.lines(run["id"])
    # 0.4 x 100000/12 / 2; 1.2 -> 10000 / 2; 1.9 capped at 1.6 -> 13333.33.. / 2
    assert _table(lines) == [
        ("2026-04", "SUP-1", "1666.67"),
        ("2026-04", "SUP-2", "1666.67"),
        ("2026-05", "SUP-1", "5000.00"),
        ("2026-05", "SUP-2", "5000.00"),
        ("2026-06", "SUP-1", "6666.67"),
        ("2026-06", "SUP-2", "6666.67"),
    ]
    assert [line["uplift"] for line in lines[::2]] == ["0.4", "1.2", "1.6"]
    assert {line["share"] for line in lines} == {"0.5"}
    assert run["totals"]["by_stream"] == [
        {"stream": "Cost", "benefit": {"amount": "26666.68", "currency": "USD"}}
    ]
    b = await _benefit(linked, "SUP-1")
    assert b["realized"]["amount"] == "13333.34"
    assert b["run_rate"]["amount"] == "80000.04"
    ok(await linked.attribution.get("/v1/benefits", params={"team": "Support"}))
    assert (
        len(ok(await linked.attribution.get("/v1/benefits", params={"stream": "cost"}))["items"])
        == 2
    )
    assert ok(await linked.attribution.get("/v1/benefits", params={"stream": "CX"}))["items"] == []


async def test_quarterly_kpi_with_gap(linked: Linked) -> None:
    await linked.kpi(
        "retention",
        baseline="80",
        target="90",
        cadence="quarterly",
        stream="CX",
        value_per_unit={"amount": "40000", "currency": "USD", "per": "year"},
    )
    await linked.epic("RET-1", streams=("CX",))
    await linked.contribute("RET-1", "retention", share="1")
    await linked.measure("retention", {"2026-Q1": "82", "2026-Q2": "85"})
    await linked.sync()
    ruleset, _ = await linked.agreed_ruleset({"currency": "USD", "defaults": {"confidence": "0.8"}})
    run = await linked.run(ruleset, "2026-01", "2026-09")
    assert _table(await linked.lines(run["id"])) == [
        ("2026-Q1", "RET-1", "16000.00"),  # 2 points x 40000/4 x 0.8
        ("2026-Q2", "RET-1", "40000.00"),
    ]
    assert run["gaps"] == [{"kpi": "retention", "period": "2026-Q3", "missing_segments": ["all"]}]
    assert run["totals"]["gaps"] == 1
    b = await _benefit(linked, "RET-1")
    assert b["run_rate"]["amount"] == "160000.00"  # x 4 for a quarterly KPI
    assert b["realized"]["amount"] == "56000.00"


async def test_control_group(linked: Linked) -> None:
    await linked.kpi("conv-ab", baseline="2.0", target="3.0")
    await linked.epic("AB-1", start="2026-03-10")
    await linked.contribute("AB-1", "conv-ab", share="1")
    await linked.measure(
        "conv-ab", {"2026-02": "2.0", "2026-03": "2.3", "2026-04": "2.6"}, "treatment"
    )
    await linked.measure(
        "conv-ab", {"2026-02": "2.0", "2026-03": "2.1", "2026-04": "2.2"}, "control"
    )
    await linked.sync()
    rules = {
        "currency": "USD",
        "defaults": {"confidence": "0.8"},
        "kpis": {
            "conv-ab": {
                "method": "control_group",
                "value_per_unit": {"amount": "1200000", "currency": "USD", "per": "year"},
            }
        },
    }
    ruleset, _ = await linked.agreed_ruleset(rules)
    run = await linked.run(ruleset, "2026-03", "2026-05")
    lines = await linked.lines(run["id"])
    # (2.3-2.0)-(2.1-2.0)=0.2 -> 0.2 x 100000 x 0.8 ; (0.6-0.2)=0.4 -> 32000
    assert _table(lines) == [("2026-03", "AB-1", "16000.00"), ("2026-04", "AB-1", "32000.00")]
    assert [line["uplift"] for line in lines] == ["0.2", "0.4"]
    assert run["gaps"] == [
        {"kpi": "conv-ab", "period": "2026-05", "missing_segments": ["treatment", "control"]}
    ]


async def test_lag_and_ramp(linked: Linked) -> None:
    await linked.kpi(
        "onboarding",
        baseline="10",
        target="20",
        value_per_unit={"amount": "120000", "currency": "USD", "per": "year"},
    )
    await linked.epic("ONB-1", start="2026-01-20")
    await linked.contribute("ONB-1", "onboarding", share="1")
    await linked.measure(
        "onboarding", {"2026-01": "12", "2026-02": "12", "2026-03": "12", "2026-04": "12"}
    )
    await linked.sync()
    rules = {
        "currency": "USD",
        "kpis": {"onboarding": {"lag_periods": 1, "ramp": ["0.5"], "confidence": "1"}},
    }
    ruleset, _ = await linked.agreed_ruleset(rules)
    run = await linked.run(ruleset, "2026-01", "2026-04")
    lines = await linked.lines(run["id"])
    assert _table(lines) == [
        ("2026-01", "ONB-1", "0.00"),  # in the lag
        ("2026-02", "ONB-1", "10000.00"),  # ramp 0.5
        ("2026-03", "ONB-1", "20000.00"),
        ("2026-04", "ONB-1", "20000.00"),
    ]
    assert [line["ramp"] for line in lines] == ["0", "0.5", "1", "1"]


async def test_multi_currency(linked: Linked) -> None:
    await linked.kpi(
        "eu-sales",
        baseline="1",
        target="5",
        unit="count",
        value_per_unit={"amount": "120000", "currency": "EUR", "per": "year"},
    )
    await linked.epic("EU-1", cost="20000.00", currency="EUR")
    await linked.contribute("EU-1", "eu-sales", share="1")
    await linked.measure("eu-sales", {"2026-04": "2", "2026-05": "3"})
    await linked.sync()
    rules = {"currency": "USD", "fx": {"EUR": "1.08"}, "defaults": {"confidence": "1"}}
    ruleset, _ = await linked.agreed_ruleset(rules)
    run = await linked.run(ruleset, "2026-04", "2026-05")
    lines = await linked.lines(run["id"])
    assert _table(lines) == [("2026-04", "EU-1", "10800.00"), ("2026-05", "EU-1", "21600.00")]
    assert {line["benefit"]["currency"] for line in lines} == {"USD"}
    b = await _benefit(linked, "EU-1")
    assert b["planned_cost"] == {"amount": "21600.00", "currency": "USD"}
    assert b["payback_period"] == "2026-05"
    assert b["currency"] == "USD"
