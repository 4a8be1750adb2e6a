"""Measurements over HTTP: bulk all-or-nothing writes, cadence, bitemporal corrections and
as-of reads, concurrency, and the change log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ledgerkit.db import create_engine
from tests.outcomes.builders import make_kpi, record_measurements


async def _sql(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def _changes(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items = (await client.get("/v1/changes", params={"limit": 5000})).json()["items"]
    return [c for c in items if c["entity"] == "measurement"]


async def _values(client: httpx.AsyncClient, slug: str, **params: Any) -> dict[str, str]:
    r = await client.get(f"/v1/kpis/{slug}/measurements", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return {f"{m['period']}/{m['segment']}": m["value"] for m in r.json()["items"]}


async def test_single_and_bulk_with_created_corrected_unchanged(
    outcomes_client: httpx.AsyncClient,
) -> None:
    await make_kpi(outcomes_client, "cc")
    r = await outcomes_client.post(
        "/v1/kpis/cc/measurements", json={"period": "2026-04", "value": 2.5, "source": "GA4"}
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"created": 1, "corrected": 0, "unchanged": 0}

    result = await record_measurements(
        outcomes_client,
        "cc",
        [
            {"period": "2026-04", "value": "2.50"},  # same value → unchanged
            {"period": "2026-05", "value": "2.9"},
            {"period": "2026-06", "value": 3.4},
            {"period": "2026-06", "value": "3.1", "segment": "control"},
        ],
    )
    assert result == {"created": 3, "corrected": 0, "unchanged": 1}
    result = await record_measurements(
        outcomes_client,
        "cc",
        [{"period": "2026-05", "value": "2.95"}, {"period": "2026-06", "value": "3.4"}],
    )
    assert result == {"created": 0, "corrected": 1, "unchanged": 1}

    page = (await outcomes_client.get("/v1/kpis/cc/measurements")).json()
    assert [(m["period"], m["segment"], m["value"], m["version"]) for m in page["items"]] == [
        ("2026-04", "all", "2.5", 1),
        ("2026-05", "all", "2.95", 2),
        ("2026-06", "all", "3.4", 1),
        ("2026-06", "control", "3.1", 1),
    ]
    first = page["items"][0]
    assert first["kpi"] == "cc"
    assert first["source"] == "GA4"
    assert first["recorded_at"].endswith("Z")
    assert page["next_cursor"] is None

    assert await _values(outcomes_client, "cc", segment="control") == {"2026-06/control": "3.1"}
    assert await _values(outcomes_client, "cc", **{"from": "2026-05", "to": "2026-05"}) == {
        "2026-05/all": "2.95"
    }

    changes = await _changes(outcomes_client)
    assert [(c["entity_id"], c["action"]) for c in changes] == [
        ("cc:2026-04:all", "recorded"),
        ("cc:2026-05:all", "recorded"),
        ("cc:2026-06:all", "recorded"),
        ("cc:2026-06:control", "recorded"),
        ("cc:2026-05:all", "corrected"),
    ]
    assert changes[-1]["data"] == {
        "kpi": "cc",
        "period": "2026-05",
        "segment": "all",
        "value": "2.95",
        "source": None,
        "recorded_at": changes[-1]["data"]["recorded_at"],
        "version": 2,
    }


async def test_as_of_read_after_a_correction(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "cc")
    await record_measurements(outcomes_client, "cc", {"2026-04": "2.5"})
    first = (await outcomes_client.get("/v1/kpis/cc/measurements")).json()["items"][0]
    await record_measurements(outcomes_client, "cc", {"2026-04": "2.6"})
    second = (await outcomes_client.get("/v1/kpis/cc/measurements")).json()["items"][0]
    assert second["version"] == 2
    assert second["recorded_at"] > first["recorded_at"]

    assert await _values(outcomes_client, "cc", as_of=first["recorded_at"]) == {
        "2026-04/all": "2.5"
    }
    assert await _values(outcomes_client, "cc", as_of=second["recorded_at"]) == {
        "2026-04/all": "2.6"
    }
    assert await _values(outcomes_client, "cc") == {"2026-04/all": "2.6"}
    assert await _values(outcomes_client, "cc", as_of="2000-01-01T00:00:00Z") == {}
    # A timestamp with an offset means the same instant.
    assert await _values(outcomes_client, "cc", as_of="2100-01-01T02:00:00+02:00") == {
        "2026-04/all": "2.6"
    }

    history = await outcomes_client.get(
        "/v1/kpis/cc/measurements/history", params={"period": "2026-04"}
    )
    assert history.status_code == 200
    versions = history.json()["items"]
    assert [(v["version"], v["value"]) for v in versions] == [(1, "2.5"), (2, "2.6")]
    assert versions[0]["superseded_at"] == second["recorded_at"]
    assert versions[1]["superseded_at"] is None


async def test_bad_row_points_at_its_index_and_nothing_is_stored(
    outcomes_client: httpx.AsyncClient,
) -> None:
    await make_kpi(outcomes_client, "cc")
    rows: list[dict[str, Any]] = [
        {"period": f"{2020 + i // 12}-{i % 12 + 1:02d}", "value": str(i)} for i in range(30)
    ]
    bad = [dict(r) for r in rows]
    bad[17]["period"] = "2026-13"
    r = await outcomes_client.post("/v1/kpis/cc/measurements", json=bad)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors"][0]["loc"] == ["body", 17, "period"]
    assert "nothing was stored" in body["detail"]

    bad = [dict(r) for r in rows]
    bad[5]["value"] = "NaN"
    bad[9]["colour"] = "red"
    r = await outcomes_client.post("/v1/kpis/cc/measurements", json=bad)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["body", 5, "value"], ["body", 9, "colour"]]

    r = await outcomes_client.post(
        "/v1/kpis/cc/measurements", json={"period": "2026-4", "value": 1}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "period"]

    assert await _values(outcomes_client, "cc") == {}
    assert await _changes(outcomes_client) == []


@pytest.mark.parametrize(
    ("cadence", "period"),
    [
        ("monthly", "2026-Q2"),
        ("quarterly", "2026-04"),
        ("quarterly", "2026-Q5"),
        ("monthly", "26-04"),
    ],
)
async def test_period_must_match_cadence(
    outcomes_client: httpx.AsyncClient, cadence: str, period: str
) -> None:
    await make_kpi(outcomes_client, "k", cadence=cadence)
    r = await outcomes_client.post(
        "/v1/kpis/k/measurements", json=[{"period": period, "value": "1"}]
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", 0, "period"]
    assert cadence in r.json()["errors"][0]["msg"]
    assert await _values(outcomes_client, "k") == {}


async def test_quarterly_kpi_and_query_period_checks(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "nps", stream="CX", unit="score", cadence="quarterly")
    await record_measurements(outcomes_client, "nps", {"2026-Q1": "31", "2026-Q2": "35"})
    assert await _values(outcomes_client, "nps", **{"from": "2026-Q2"}) == {"2026-Q2/all": "35"}
    r = await outcomes_client.get("/v1/kpis/nps/measurements", params={"from": "2026-04"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "from"]


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "abc", "", True, None, "1.12345678901", "1e30"]
)
async def test_bad_values_are_422(outcomes_client: httpx.AsyncClient, value: Any) -> None:
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.post(
        "/v1/kpis/k/measurements", json={"period": "2026-04", "value": value}
    )
    assert r.status_code == 422, r.text


async def test_json_nan_literal_is_rejected(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.post(
        "/v1/kpis/k/measurements",
        content='[{"period": "2026-04", "value": NaN}]',
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert await _values(outcomes_client, "k") == {}


@pytest.mark.parametrize("body", ["not json", '"a string"', "42", "[1, 2]", "{}"])
async def test_malformed_bodies_are_4xx(outcomes_client: httpx.AsyncClient, body: str) -> None:
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.post(
        "/v1/kpis/k/measurements", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500, r.text


async def test_duplicates_in_one_request_are_422(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "k")
    r = await outcomes_client.post(
        "/v1/kpis/k/measurements",
        json=[
            {"period": "2026-04", "value": "1"},
            {"period": "2026-04", "value": "1", "segment": "control"},
            {"period": "2026-04", "value": "2"},
        ],
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["loc"] == ["body", 2, "period"]
    assert "row 0" in err["msg"]


async def test_unknown_kpi_is_404(outcomes_client: httpx.AsyncClient) -> None:
    r = await outcomes_client.post(
        "/v1/kpis/nope/measurements", json={"period": "2026-04", "value": 1}
    )
    assert r.status_code == 404
    assert r.json()["type"].endswith("kpi-not-found")
    assert (await outcomes_client.get("/v1/kpis/nope/measurements")).status_code == 404


async def test_bulk_of_10000_in_one_request(
    outcomes_client: httpx.AsyncClient, database_urls: dict[str, str]
) -> None:
    await make_kpi(outcomes_client, "k")
    rows = [
        {
            "period": f"{2000 + i // 1200}-{i % 12 + 1:02d}",
            "segment": f"s{(i // 12) % 100}",
            "value": f"{i}.5",
        }
        for i in range(10_000)
    ]
    assert await record_measurements(outcomes_client, "k", rows) == {
        "created": 10_000,
        "corrected": 0,
        "unchanged": 0,
    }
    rows[0]["value"] = "-1"
    assert await record_measurements(outcomes_client, "k", rows) == {
        "created": 0,
        "corrected": 1,
        "unchanged": 9_999,
    }
    (count,) = await _sql(database_urls["outcomes"], "SELECT count(*) FROM measurements")
    assert count[0] == 10_001
    too_many = await outcomes_client.post("/v1/kpis/k/measurements", json=[*rows, rows[0]])
    assert too_many.status_code == 413

    # Pages walk every current value once, in period/segment order.
    seen = 0
    cursor = None
    last: tuple[str, str] | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, "from": "2003-01", "to": "2004-12"}
        if cursor:
            params["cursor"] = cursor
        page = (await outcomes_client.get("/v1/kpis/k/measurements", params=params)).json()
        for m in page["items"]:
            key = (m["period"], m["segment"])
            assert last is None or key > last
            last = key
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == 2 * 12 * 100


async def test_concurrent_writers_of_one_period_keep_one_current_version(
    outcomes_client: httpx.AsyncClient, database_urls: dict[str, str]
) -> None:
    await make_kpi(outcomes_client, "k")

    async def post(value: str) -> httpx.Response:
        return await outcomes_client.post(
            "/v1/kpis/k/measurements",
            json=[{"period": "2026-04", "value": value}, {"period": "2026-05", "value": "7"}],
        )

    same = await asyncio.gather(*(post("5") for _ in range(10)))
    assert [r.status_code for r in same] == [201] * 10
    assert sum(r.json()["created"] for r in same) == 2
    rows = await _sql(
        database_urls["outcomes"], "SELECT period, version FROM measurements ORDER BY period"
    )
    assert [tuple(r) for r in rows] == [("2026-04", 1), ("2026-05", 1)]

    different = await asyncio.gather(*(post(str(10 + i)) for i in range(10)))
    assert [r.status_code for r in different] == [201] * 10
    rows = await _sql(
        database_urls["outcomes"],
        "SELECT version, superseded_at IS NULL FROM measurements WHERE period = '2026-04' "
        "ORDER BY version",
    )
    assert [r[0] for r in rows] == list(range(1, 12))
    assert [bool(r[1]) for r in rows].count(True) == 1
    assert len(await _changes(outcomes_client)) == 2 + 10


async def test_idempotency_key_replays_the_first_response(
    outcomes_client: httpx.AsyncClient,
) -> None:
    await make_kpi(outcomes_client, "k")
    body = [{"period": "2026-04", "value": "1"}]
    headers = {"Idempotency-Key": "batch-1"}
    first = await outcomes_client.post("/v1/kpis/k/measurements", json=body, headers=headers)
    again = await outcomes_client.post("/v1/kpis/k/measurements", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() == {"created": 1, "corrected": 0, "unchanged": 0}
    other = await outcomes_client.post(
        "/v1/kpis/k/measurements", json=[{"period": "2026-04", "value": "2"}], headers=headers
    )
    assert other.status_code == 422
    assert len(await _changes(outcomes_client)) == 1
