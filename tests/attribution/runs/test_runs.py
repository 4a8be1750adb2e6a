"""Runs: official vs preview, scopes, immutability of results, corrections after a run,
verification."""

from __future__ import annotations

from tests.attribution.helpers import WORKED_RULES, Linked, ok
from tests.attribution.runs.test_worked_example import seed_worked_example


async def test_official_needs_finance_and_an_agreed_version(linked: Linked) -> None:
    await seed_worked_example(linked)
    await linked.sync()
    c = linked.attribution
    rs = ok(await c.post("/v1/rulesets", json={"name": "Draft only"}), 201)
    ok(
        await c.post(
            f"/v1/rulesets/{rs['id']}/versions",
            json={"rules": WORKED_RULES, "effective_from": "2026-01"},
        ),
        201,
    )
    body = {"ruleset": rs["id"], "from": "2026-04", "to": "2026-06"}
    problem = ok(await c.post("/v1/runs", json=body), 409)
    assert problem["type"] == "/problems/no-agreed-version"
    problem = ok(await c.post("/v1/runs", json={**body, "version": 1}), 409)
    assert "preview" in problem["detail"]

    async with linked.as_key("write") as writer:
        problem = ok(await writer.post("/v1/runs", json={**body, "version": 1}), 403)
        assert "finance" in problem["detail"]
        preview = ok(await writer.post("/v1/runs", json={**body, "preview": True}), 201)
    assert (preview["status"], preview["version"]) == ("preview", 1)
    assert preview["totals"]["benefit"]["amount"] == "1280000.00"
    async with linked.as_key("read") as reader:
        assert (await reader.post("/v1/runs", json={**body, "preview": True})).status_code == 403
    # previews never count as benefits
    assert ok(await c.get("/v1/benefits"))["items"] == []

    ruleset, _ = await linked.agreed_ruleset(WORKED_RULES, name="Agreed")
    async with linked.as_key("finance") as finance:
        official = ok(
            await finance.post(
                "/v1/runs", json={"ruleset": "Agreed", "from": "2026-04", "to": "2026-06"}
            ),
            201,
        )
    assert official["status"] == "official" and official["ruleset"] == ruleset
    runs = ok(await c.get("/v1/runs", params={"status": "official"}))["items"]
    assert [r["id"] for r in runs] == [official["id"]]
    assert ok(await c.get(f"/v1/runs/{official['id']}"))["input_hash"] == official["input_hash"]
    assert (await c.get("/v1/runs/nope")).status_code == 404
    # bad range / unknown field
    assert (await c.post("/v1/runs", json={**body, "from": "2026-07"})).status_code == 422
    assert (await c.post("/v1/runs", json={**body, "foo": 1})).status_code == 422
    # `as_of` is an ISO 8601 timestamp, not a number of seconds.
    assert (await c.post("/v1/runs", json={**body, "as_of": 1767225600})).status_code == 422


async def test_correction_after_a_run(linked: Linked) -> None:
    await seed_worked_example(linked)
    await linked.sync()
    ruleset, _ = await linked.agreed_ruleset(WORKED_RULES)
    first = await linked.run(ruleset, "2026-04", "2026-06")

    # outcomes corrects 2026-05 from 2.9 to 3.0 (a new version; the old one is kept)
    result = await linked.measure("checkout-conversion", {"2026-05": "3.0"})
    assert result["corrected"] == 1
    await linked.sync()

    verified = ok(await linked.attribution.post(f"/v1/runs/{first['id']}/verify"))
    assert verified["ok"] is True, verified
    old = {
        (x["period"], x["epic"]): x["benefit"]["amount"] for x in await linked.lines(first["id"])
    }
    assert old[("2026-05", "PAY-12")] == "256000.00"

    second = await linked.run(ruleset, "2026-04", "2026-06")
    assert second["input_hash"] != first["input_hash"]
    new = {
        (x["period"], x["epic"]): x["benefit"]["amount"] for x in await linked.lines(second["id"])
    }
    assert new[("2026-05", "PAY-12")] == "288000.00"  # 0.9 x 666,666.67 x 0.8 x 0.6
    assert new[("2026-05", "WEB-7")] == "192000.00"
    assert ok(await linked.attribution.post(f"/v1/runs/{second['id']}/verify"))["ok"] is True

    # as known at the first run's as_of: the same inputs, the same numbers
    again = await linked.run(ruleset, "2026-04", "2026-06", as_of=first["as_of"])
    assert again["input_hash"] == first["input_hash"]
    assert again["lines_hash"] == first["lines_hash"]

    # benefits follow the latest official run
    pay = ok(await linked.attribution.get("/v1/benefits", params={"epic": "PAY-12"}))["items"][0]
    assert pay["run"] == again["id"]


async def test_draft_edited_after_a_preview_still_verifies(linked: Linked) -> None:
    await seed_worked_example(linked)
    await linked.sync()
    c = linked.attribution
    rs = ok(await c.post("/v1/rulesets", json={"name": "Draft"}), 201)
    url = f"/v1/rulesets/{rs['id']}/versions"
    ok(await c.post(url, json={"rules": WORKED_RULES, "effective_from": "2026-01"}), 201)
    preview = await linked.run(rs["id"], "2026-04", "2026-06", preview=True, version=1)
    ok(await c.patch(f"{url}/1", json={"rules": {"defaults": {"confidence": "0.5"}}}))
    verified = ok(await c.post(f"/v1/runs/{preview['id']}/verify"))
    assert verified["ok"] is True
    assert verified["version_content_hash"] != preview["content_hash"]
    assert "edited" in verified["detail"]
    changed = await linked.run(rs["id"], "2026-04", "2026-06", preview=True, version=1)
    assert changed["totals"]["benefit"]["amount"] == "800000.00"
