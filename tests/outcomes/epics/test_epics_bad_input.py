"""Bad input to the epics API: each a problem+json 4xx, never a 500, nothing half-written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.outcomes.builders import make_epic

BIG = "x" * 1_000_000  # ~1 MB: under the 5 MB body cap, far over any field's limit


async def assert_nothing_written(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/epics", params={"include_archived": "true"})).json()[
        "items"
    ] == []
    assert (await client.get("/v1/changes")).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"key": "S-1", "title": "t", "streams": ["Growth"]}, "streams"),
        ({"key": "S-1", "title": "t", "status": "open"}, "status"),
        ({"key": "S-1", "title": "t", "source": "github"}, "source"),
        ({"key": "S-1", "title": "t", "change_type": "radical"}, "change_type"),
        ({"key": "S-1"}, "title"),
        ({"title": "t"}, "key"),
        ({"key": "S 1", "title": "t"}, "key"),
        ({"key": "S/1", "title": "t"}, "key"),
        ({"key": "", "title": "t"}, "key"),
        ({"key": "S-1", "title": "   "}, "title"),
        ({"key": "S-1", "title": "t", "colour": "red"}, "colour"),
        ({"key": "S-1", "title": "t", "id": "abc"}, "id"),
        ({"key": "S-1", "title": "t", "version": 3}, "version"),
        ({"key": "S-1", "title": "t", "hypothesis": {"statement": "s", "x": 1}}, "x"),
        ({"key": "S-1", "title": "t", "hypothesis": {"proof_plan": {"days": 0}}}, "days"),
        (
            {"key": "S-1", "title": "t", "planned_cost": {"amount": "NaN", "currency": "USD"}},
            "amount",
        ),
        (
            {"key": "S-1", "title": "t", "planned_cost": {"amount": "Infinity", "currency": "USD"}},
            "amount",
        ),
        (
            {"key": "S-1", "title": "t", "planned_cost": {"amount": "1", "currency": "usd"}},
            "currency",
        ),
        (
            {"key": "S-1", "title": "t", "planned_cost": {"amount": "1.001", "currency": "USD"}},
            "amount",
        ),
        (
            {"key": "S-1", "title": "t", "start_date": "2026-05-01", "target_date": "2026-04-01"},
            "target_date",
        ),
        ({"key": "S-1", "title": "t", "start_date": "2026-02-30"}, "start_date"),
        ({"key": "S-1", "title": "t", "labels": [[["nested"]]]}, "labels"),
        ({"key": "S-1", "title": "t", "streams": "Revenue"}, "streams"),
        ({"key": "S-1", "title": BIG}, "title"),
        ({"key": BIG, "title": "t"}, "key"),
        ({"key": "S-1", "title": "t", "hypothesis": {"statement": BIG}}, "statement"),
        ({"key": "S-1", "title": "t", "labels": ["l"] * 1000}, "labels"),
    ],
)
async def test_invalid_create_is_422(
    outcomes_client: httpx.AsyncClient, body: dict[str, Any], where: str
) -> None:
    r = await outcomes_client.post("/v1/epics", json=body)
    assert r.status_code == 422, r.text[:500]
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["status"] == 422
    assert where in r.text[:5000]
    assert len(r.content) < 20_000  # a huge input is not echoed back
    await assert_nothing_written(outcomes_client)


async def test_unknown_stream_lists_allowed_values(outcomes_client: httpx.AsyncClient) -> None:
    r = await outcomes_client.post(
        "/v1/epics", json={"key": "S-1", "title": "t", "streams": ["revenue", "Growth"]}
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["loc"] == ["body", "streams", 1]
    for allowed in ("Revenue", "Cost", "Risk", "CX"):
        assert allowed in err["msg"]
    r = await outcomes_client.post("/v1/epics", json={"key": "S-1", "title": "t", "status": "x"})
    for allowed in ("proposed", "active", "paused", "done", "cut", "archived"):
        assert allowed in r.json()["errors"][0]["msg"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"key": "N-1", "title": "t", "planned_cost": {"amount": NaN, "currency": "USD"}}',
        b'{"key": "N-1", "title": "t", "planned_cost": {"amount": Infinity, "currency": "USD"}}',
        b'{"key": "N-1", "title": "t", "hypothesis": {"proof_plan": {"days": NaN}}}',
        b'{"key": "N-1", "title": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"key": "N-1", "title": "t", "labels": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"key": "N-1", "title": "t", "hypothesis": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001,
        b'{"key": "N-1", "title": "t",',
        b"",
        b"null",
        b'"just a string"',
        b'{"key": "N-1", "title": "t\\ud800"}',
    ],
)
async def test_hostile_json_is_4xx(outcomes_client: httpx.AsyncClient, raw: bytes) -> None:
    r = await outcomes_client.post(
        "/v1/epics", content=raw, headers={"Content-Type": "application/json"}
    )
    assert 400 <= r.status_code < 500, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    await assert_nothing_written(outcomes_client)


async def test_hostile_patch_is_4xx_and_unchanged(outcomes_client: httpx.AsyncClient) -> None:
    epic = await make_epic(outcomes_client, key="H-1")
    bodies = [
        b'{"title": NaN}',
        b'{"planned_cost": {"amount": Infinity, "currency": "USD"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"hypothesis": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001,
        b'{"title": "' + BIG.encode() + b'"}',
        b'{"nope": 1}',
        b"[]",
    ]
    for raw in bodies:
        r = await outcomes_client.patch(
            "/v1/epics/H-1", content=raw, headers={"Content-Type": "application/merge-patch+json"}
        )
        assert 400 <= r.status_code < 500, r.text[:300]
    assert (await outcomes_client.get("/v1/epics/H-1")).json() == epic
    assert len((await outcomes_client.get("/v1/changes")).json()["items"]) == 1


async def test_oversized_body_is_413(outcomes_client: httpx.AsyncClient) -> None:
    r = await outcomes_client.post(
        "/v1/epics", json={"key": "BIG-1", "title": "x" * (6 * 1024 * 1024)}
    )
    assert r.status_code == 413
    await assert_nothing_written(outcomes_client)


async def test_scopes(outcomes_settings: Any) -> None:
    from ledgerkit.testing import app_client
    from outcomes.app import create_app
    from tests.conftest import KEYS

    app = create_app(outcomes_settings)
    async with app_client(app, key=KEYS["read"]) as reader:
        assert (await reader.get("/v1/epics")).status_code == 200
        r = await reader.post("/v1/epics", json={"key": "R-1", "title": "t"})
        assert r.status_code == 403
        assert (await reader.delete("/v1/epics/R-1")).status_code == 403
    async with app_client(app) as anonymous:
        assert (await anonymous.get("/v1/epics")).status_code == 401
