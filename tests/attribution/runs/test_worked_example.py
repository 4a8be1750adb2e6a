"""attribution.md's worked example, to the cent, through the HTTP APIs of both services:
KPI, epics, contributions and measurements go into outcomes; the attribution follower reads
the outcomes change feed over HTTP; an official run computes the lines."""

from __future__ import annotations

from tests.attribution.helpers import WORKED_RULES, Linked, ok


async def seed_worked_example(linked: Linked) -> None:
    await linked.kpi(
        "checkout-conversion",
        baseline="2.1",
        target="3.3",
        value_per_unit={"amount": "8000000", "currency": "USD", "per": "year"},
    )
    await linked.epic("PAY-12", cost="500000.00")
    await linked.epic("WEB-7")
    await linked.contribute("PAY-12", "checkout-conversion", share="0.6")
    await linked.contribute("WEB-7", "checkout-conversion", share="0.4")
    await linked.measure(
        "checkout-conversion", {"2026-04": "2.5", "2026-05": "2.9", "2026-06": "3.4"}
    )


async def test_worked_example_to_the_cent(linked: Linked) -> None:
    await seed_worked_example(linked)
    synced = await linked.sync()
    assert synced["lag"] == 0
    assert synced["after"] == synced["head"] > 0
    ruleset, version = await linked.agreed_ruleset(WORKED_RULES)

    run = await linked.run(ruleset, "2026-04", "2026-06")
    assert run["status"] == "official"
    assert run["version"] == version
    assert run["totals"]["benefit"] == {"amount": "1280000.00", "currency": "USD"}
    assert run["gaps"] == []

    lines = await linked.lines(run["id"])
    table = [
        (
            line["period"],
            line["epic"],
            line["uplift"],
            line["period_value"]["amount"],
            line["benefit"]["amount"],
            line["cumulative"]["amount"],
        )
        for line in lines
    ]
    assert table == [
        ("2026-04", "PAY-12", "0.4", "266666.67", "128000.00", "128000.00"),
        ("2026-04", "WEB-7", "0.4", "266666.67", "85333.33", "85333.33"),
        ("2026-05", "PAY-12", "0.8", "533333.33", "256000.00", "384000.00"),
        ("2026-05", "WEB-7", "0.8", "533333.33", "170666.67", "256000.00"),
        ("2026-06", "PAY-12", "1.2", "800000.00", "384000.00", "768000.00"),
        ("2026-06", "WEB-7", "1.2", "800000.00", "256000.00", "512000.00"),
    ]
    assert {line["share"] for line in lines if line["epic"] == "PAY-12"} == {"0.6"}

    benefits = ok(await linked.attribution.get("/v1/benefits"))["items"]
    by_epic = {b["epic"]: b for b in benefits}
    assert by_epic["PAY-12"]["realized"] == {"amount": "768000.00", "currency": "USD"}
    assert by_epic["PAY-12"]["run_rate"] == {"amount": "4608000.00", "currency": "USD"}
    assert by_epic["PAY-12"]["payback_period"] == "2026-06"
    assert by_epic["PAY-12"]["planned_cost"] == {"amount": "500000.00", "currency": "USD"}
    assert by_epic["WEB-7"]["realized"] == {"amount": "512000.00", "currency": "USD"}
    assert by_epic["WEB-7"]["run_rate"] == {"amount": "3072000.00", "currency": "USD"}
    assert by_epic["WEB-7"]["payback_period"] is None
    assert by_epic["PAY-12"]["run"] == run["id"]

    verified = ok(await linked.attribution.post(f"/v1/runs/{run['id']}/verify"))
    assert verified["ok"] is True, verified
    assert verified["lines_checked"] == 6
    assert verified["input_hash"]["recomputed"] == run["input_hash"]

    # Filters on lines
    assert len(await linked.lines(run["id"], epic="WEB-7")) == 3
    assert [line["period"] for line in await linked.lines(run["id"], period="2026-05")] == [
        "2026-05",
        "2026-05",
    ]
    assert await linked.lines(run["id"], stream="Cost") == []
