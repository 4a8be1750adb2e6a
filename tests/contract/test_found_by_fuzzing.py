"""Regression tests for what Schemathesis found (each fast and in process), and the OpenAPI
links that drive its stateful phase."""

from __future__ import annotations

import httpx

from tests.outcomes.builders import make_epic, make_kpi

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]
    return dict(body)


async def test_405_allow_lists_every_method_of_the_resource(
    outcomes_client: httpx.AsyncClient,
) -> None:
    # Starlette named only the first route of the path (`Allow: GET`).
    r = await outcomes_client.request("OPTIONS", "/v1/epics/X-1")
    _problem(r, 405)
    assert r.headers["allow"] == "GET, PATCH, DELETE"
    r = await outcomes_client.put("/v1/kpis/k/measurements")
    assert r.headers["allow"] == "GET, POST"


async def test_as_of_must_be_iso_8601(outcomes_client: httpx.AsyncClient) -> None:
    # `as_of=2026` used to mean 2026 seconds after 1970 (pydantic reads numbers as epochs).
    await make_kpi(outcomes_client, "k")
    for bad in ("2026", "0.5", "-1", "8.38366328279801e-232", "1E3", " 12 "):
        r = await outcomes_client.get("/v1/kpis/k/measurements", params={"as_of": bad})
        assert _problem(r, 422)["errors"]
    ok = await outcomes_client.get("/v1/kpis/k/measurements", params={"as_of": "2026-05-01"})
    assert ok.status_code == 200


async def test_feed_position_beyond_64_bits_is_422(outcomes_client: httpx.AsyncClient) -> None:
    # Was an OverflowError (500) in the database driver.
    r = await outcomes_client.get("/v1/changes", params={"after": 2**70})
    _problem(r, 422)


async def test_nul_in_urls_is_422_not_a_database_error(
    outcomes_client: httpx.AsyncClient,
) -> None:
    # PostgreSQL cannot hold or compare a NUL in text: these were 500s (and a CSV export cut
    # off mid-stream, its headers already sent).
    await make_epic(outcomes_client, key="N-1")
    for url in (
        "/v1/epics/N%001",
        "/v1/epics?q=a%00b",
        "/v1/epics?team=%00",
        "/v1/kpis/x%00/measurements",
        "/v1/exports/epics.csv?team=%00",
    ):
        _problem(await outcomes_client.get(url), 422)


async def test_values_postgresql_refuses_are_422(
    outcomes_client: httpx.AsyncClient, on_postgres: bool
) -> None:
    """A NUL inside a JSON string and a cursor beyond the pk column's range: PostgreSQL's
    "data exception" (SQLSTATE class 22) is the client's 422, no longer a 500. (SQLite
    stores the NUL and compares the big number.)"""
    r = await outcomes_client.post("/v1/epics", json={"key": "N-2", "title": "a\u0000b"})
    if on_postgres:
        _problem(r, 422)
    else:
        assert r.status_code == 201, r.text
    cursor = "OTIyMzM3MjAzNjg1NDc3NTgwNw"  # 9223372036854775807
    r = await outcomes_client.get("/v1/epics", params={"cursor": cursor})
    if on_postgres:
        _problem(r, 422)
    else:
        assert r.status_code == 200, r.text


async def test_attribution_inputs_found_by_fuzzing(attribution_client: httpx.AsyncClient) -> None:
    # Year 0 passed the period pattern and crashed the engine (500).
    r = await attribution_client.post(
        "/v1/runs", json={"ruleset": "x", "from": "0000-01", "to": "0000-01"}
    )
    _problem(r, 422)
    # A version beyond the integer column overflowed the driver (500).
    r = await attribution_client.get(f"/v1/rulesets/x/versions/{2**69}")
    _problem(r, 422)
    # An unknown rule set filter is a documented 404.
    _problem(await attribution_client.get("/v1/runs", params={"ruleset": "nope"}), 404)
    doc = (await attribution_client.get("/openapi.json")).json()
    assert "404" in doc["paths"]["/v1/runs"]["get"]["responses"]


async def test_openapi_links_for_stateful_testing(outcomes_client: httpx.AsyncClient) -> None:
    doc = (await outcomes_client.get("/openapi.json")).json()
    links = doc["paths"]["/v1/epics"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    assert targets["epics-get_epic"] == {"ref": "$response.body#/id"}
    assert targets["epics-update_epic"] == {"ref": "$response.body#/id"}
    assert targets["epics-archive_epic"] == {"ref": "$response.body#/id"}
    assert targets["contributions-create_contribution"] == {"ref": "$response.body#/id"}
    contrib = doc["paths"]["/v1/epics/{ref}/contributions"]["post"]["responses"]["201"]
    assert {link["operationId"]: link["parameters"] for link in contrib["links"].values()}[
        "contributions-update_contribution"
    ] == {"kpi": "$response.body#/kpi", "ref": "$request.path.ref"}
    scores = doc["paths"]["/v1/epics/{ref}/scores"]["post"]["responses"]["201"]["links"]
    assert [link["operationId"] for link in scores.values()] == ["scores-get_score"]
    kpis = doc["paths"]["/v1/kpis"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in kpis.values()} >= {
        "kpis-get_kpi",
        "kpis-update_kpi",
        "kpis-agree_baseline",
        "measurements-record_measurements",
    }
