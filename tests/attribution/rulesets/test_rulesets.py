"""Rule sets and versions: lifecycle, validation with JSON paths, immutability, scopes,
the checks before an agreement, supersession."""

from __future__ import annotations

from typing import Any

from tests.attribution.helpers import WORKED_RULES, Linked, ok

PLAIN_RULES: dict[str, Any] = {"currency": "USD", "defaults": {"confidence": "0.8"}}


async def _draft(linked: Linked, rules: dict[str, Any] | None = None, **kw: Any) -> str:
    rs = ok(await linked.attribution.post("/v1/rulesets", json={"name": kw.get("name", "FY")}), 201)
    body = {"rules": rules or PLAIN_RULES, "effective_from": kw.get("effective_from", "2026-01")}
    v = ok(await linked.attribution.post(f"/v1/rulesets/{rs['id']}/versions", json=body), 201)
    return f"/v1/rulesets/{rs['id']}/versions/{v['version']}"


async def test_create_list_get(linked: Linked) -> None:
    c = linked.attribution
    rs = ok(await c.post("/v1/rulesets", json={"name": "Finance FY26", "description": "d"}), 201)
    assert rs["versions"] == []
    assert ok(await c.post("/v1/rulesets", json={"name": "Finance FY26"}), 409)
    v = ok(
        await c.post(
            f"/v1/rulesets/{rs['id']}/versions",
            json={"rules": WORKED_RULES, "effective_from": "2026-01"},
        ),
        201,
    )
    assert (v["version"], v["status"], v["ruleset"]) == (1, "draft", rs["id"])
    assert len(v["content_hash"]) == 64
    by_name = ok(await c.get("/v1/rulesets/Finance FY26"))
    assert by_name["id"] == rs["id"]
    assert [s["version"] for s in by_name["versions"]] == [1]
    page = ok(await c.get("/v1/rulesets", params={"limit": 1}))
    assert [r["id"] for r in page["items"]] == [rs["id"]]
    assert (await c.get("/v1/rulesets/nope")).status_code == 404


async def test_validation_422_with_json_path(linked: Linked) -> None:
    c = linked.attribution
    rs = ok(await c.post("/v1/rulesets", json={"name": "Bad"}), 201)
    url = f"/v1/rulesets/{rs['id']}/versions"
    bad = {
        "currency": "USD",
        "defaults": {"confidence": "1.5", "ramp": ["0.5", "x"]},
        "kpis": {
            "k": {
                "confidnce": "0.5",
                "value_per_unit": {"amount": "1", "currency": "GBP", "per": "year"},
            }
        },
    }
    problem = ok(await c.post(url, json={"rules": bad, "effective_from": "2026-01"}), 422)
    locs = {tuple(e["loc"]) for e in problem["errors"]}
    assert ("body", "rules", "defaults", "confidence") in locs
    assert ("body", "rules", "defaults", "ramp", 1) in locs
    assert ("body", "rules", "kpis", "k", "confidnce") in locs
    assert problem["type"] == "/problems/invalid-rules"
    # currency without an agreed rate (a check beyond the shape)
    no_rate = {
        "currency": "USD",
        "kpis": {"k": {"value_per_unit": {"amount": "1", "currency": "GBP", "per": "year"}}},
    }
    problem = ok(await c.post(url, json={"rules": no_rate, "effective_from": "2026-01"}), 422)
    assert problem["errors"][0]["loc"] == [
        "body",
        "rules",
        "kpis",
        "k",
        "value_per_unit",
        "currency",
    ]
    # bad period, unknown field
    assert (
        await c.post(url, json={"rules": PLAIN_RULES, "effective_from": "2026-13"})
    ).status_code == 422
    assert (
        await c.post(url, json={"rules": PLAIN_RULES, "effective_from": "2026-01", "x": 1})
    ).status_code == 422


async def test_lifecycle_and_immutability(linked: Linked) -> None:
    c = linked.attribution
    url = await _draft(linked)
    # merge patch on a draft, If-Match
    v = ok(await c.patch(url, json={"rules": {"defaults": {"confidence": "0.7"}}}))
    assert v["rules"]["defaults"]["confidence"] == "0.7"
    assert v["revision"] == 2
    assert (
        await c.patch(url, json={"effective_from": "2026-02"}, headers={"If-Match": '"1"'})
    ).status_code == 412
    r = await c.patch(url, json={"effective_from": "2026-02"}, headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"3"'
    bad = await c.patch(url, json={"rules": {"defaults": {"confidence": "2"}}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "rules", "defaults", "confidence"]

    assert (await c.post(f"{url}/agree")).status_code == 409  # a draft is proposed first
    proposed = ok(await c.post(f"{url}/propose"))
    assert proposed["status"] == "proposed" and proposed["proposed_by"]

    # agreeing needs finance
    for key in ("read", "write"):
        async with linked.as_key(key) as other:
            assert (await other.post(f"{url}/agree")).status_code == 403
    async with linked.as_key("finance") as finance:
        wrong = await finance.post(f"{url}/agree", json={"content_hash": "0" * 64})
        assert wrong.status_code == 412
        agreed = ok(
            await finance.post(f"{url}/agree", json={"content_hash": proposed["content_hash"]})
        )
    assert agreed["status"] == "agreed"
    assert agreed["agreed_by"] and agreed["agreed_at"]
    assert agreed["content_hash"] == proposed["content_hash"]

    # frozen
    r = await c.patch(url, json={"rules": {"defaults": {"confidence": "0.5"}}})
    assert r.status_code == 409 and r.json()["type"] == "/problems/version-immutable"
    assert (await c.post(f"{url}/reject")).status_code == 409
    assert ok(await c.get(url))["rules"]["defaults"]["confidence"] == "0.7"


async def test_reject(linked: Linked) -> None:
    c = linked.attribution
    url = await _draft(linked)
    async with linked.as_key("write") as writer:
        assert (await writer.post(f"{url}/reject")).status_code == 403
    rejected = ok(await c.post(f"{url}/reject", json={"reason": "too generous"}))
    assert (rejected["status"], rejected["reject_reason"]) == ("rejected", "too generous")
    assert (await c.patch(url, json={"effective_from": "2026-03"})).status_code == 409
    assert (await c.post(f"{url}/propose")).status_code == 409


async def test_newer_agreed_version_supersedes_from_its_effective_from(linked: Linked) -> None:
    c = linked.attribution
    v1 = await _draft(linked, effective_from="2026-01")
    base = v1.rsplit("/", 1)[0]
    for url in (v1,):
        ok(await c.post(f"{url}/propose"))
        ok(await c.post(f"{url}/agree"))
    v2 = ok(await c.post(base, json={"rules": PLAIN_RULES, "effective_from": "2026-07"}), 201)
    url2 = f"{base}/{v2['version']}"
    ok(await c.post(f"{url2}/propose"))
    ok(await c.post(f"{url2}/agree"))
    old = ok(await c.get(v1))
    assert (old["status"], old["superseded_by"], old["superseded_from"]) == (
        "superseded",
        2,
        "2026-07",
    )
    assert ok(await c.get(url2))["status"] == "agreed"


async def test_agreement_checks_against_the_replica(linked: Linked) -> None:
    c = linked.attribution
    # rules naming a KPI outcomes does not have
    url = await _draft(linked, {**WORKED_RULES, "kpis": {"no-such-kpi": {"confidence": "1"}}})
    ok(await c.post(f"{url}/propose"))
    problem = ok(await c.post(f"{url}/agree"), 422)
    assert problem["type"] == "/problems/agreement-refused"
    assert ["rules", "kpis", "no-such-kpi"] in [e["loc"] for e in problem["errors"]]

    # a KPI valued in EUR with no EUR rate in the rules
    await linked.kpi(
        "nps",
        baseline="30",
        stream="CX",
        unit="score",
        value_per_unit={"amount": "10000", "currency": "EUR", "per": "year"},
    )
    await linked.epic("CX-1")
    await linked.contribute("CX-1", "nps", share="1")
    await linked.sync()
    url = await _draft(linked, PLAIN_RULES, name="Other")
    ok(await c.post(f"{url}/propose"))
    problem = ok(await c.post(f"{url}/agree"), 422)
    assert ["kpis", "nps", "value_per_unit", "currency"] in [e["loc"] for e in problem["errors"]]
    assert "EUR" in problem["detail"]
