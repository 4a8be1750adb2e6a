"""Health, readiness, metrics and problem+json for the failures every client can cause."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from ledgerkit.auth import AdminDep, FinanceDep, ReadDep, WriteDep
from ledgerkit.testing import app_client
from tests.conftest import KEYS

PROBLEM = "application/problem+json"


def _assert_problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body  # type: ignore[no-any-return]


@pytest.fixture(params=["outcomes", "attribution"])
async def client(request, outcomes_client, attribution_client):  # type: ignore[no-untyped-def]
    return outcomes_client if request.param == "outcomes" else attribution_client


async def test_healthz_readyz_metrics(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert 'ledger_http_requests_total{method="GET",route="/readyz"' in r.text
    assert r.headers["x-request-id"]


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


async def test_unknown_route_is_problem(client: httpx.AsyncClient) -> None:
    body = _assert_problem(await client.get("/v1/nowhere"), 404)
    assert "/v1/nowhere" in str(body["detail"])


async def test_wrong_method_is_problem(client: httpx.AsyncClient) -> None:
    _assert_problem(await client.delete("/healthz"), 405)


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    big = b"x" * (5 * 1024 * 1024 + 1)
    r = await client.post("/v1/anything", content=big, headers={"content-type": "text/plain"})
    body = _assert_problem(r, 413)
    assert body["max_bytes"] == 5 * 1024 * 1024


async def test_readyz_is_503_problem_when_database_unreachable(outcomes_settings) -> None:  # type: ignore[no-untyped-def]
    from outcomes.app import create_app

    # A port nothing listens on: the database "is down".
    settings = outcomes_settings.model_copy(
        update={"database_url": "postgresql://nobody@127.0.0.1:9/none", "db_connect_timeout": 1}
    )
    async with app_client(create_app(settings)) as c:
        r = await c.get("/readyz")
        body = _assert_problem(r, 503)
        assert "database" in str(body["detail"]).lower()
        assert r.headers["retry-after"]
        assert (await c.get("/healthz")).status_code == 200


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int


def _probe_app(settings, create) -> FastAPI:  # type: ignore[no-untyped-def]
    """The real app plus routes that need each scope and one that fails unexpectedly."""
    app: FastAPI = create(settings)

    @app.get("/t/read")
    async def t_read(p: ReadDep) -> dict[str, str]:
        return {"actor": p.name}

    @app.post("/t/write")
    async def t_write(p: WriteDep, body: Body) -> dict[str, int]:
        return {"n": body.n}

    @app.post("/t/finance")
    async def t_finance(p: FinanceDep) -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/t/admin")
    async def t_admin(p: AdminDep) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/t/boom")
    async def t_boom() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture(params=["outcomes", "attribution"])
def probe_app(request, outcomes_settings, attribution_settings) -> FastAPI:  # type: ignore[no-untyped-def]
    if request.param == "outcomes":
        from outcomes.app import create_app as create_outcomes

        return _probe_app(outcomes_settings, create_outcomes)
    from attribution.app import create_app as create_attribution

    return _probe_app(attribution_settings, create_attribution)


async def test_auth_missing_unknown_and_scopes(probe_app: FastAPI) -> None:
    async with app_client(probe_app) as c:
        r = await c.get("/t/read")
        _assert_problem(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"
        _assert_problem(await c.get("/t/read", headers={"Authorization": "Bearer nope"}), 401)
        _assert_problem(await c.get("/t/read", headers={"Authorization": "Basic abc"}), 401)
        read = {"Authorization": f"Bearer {KEYS['read']}"}
        r = await c.get("/t/read", headers=read)
        assert r.status_code == 200 and r.json()["actor"].startswith("env:")
        body = _assert_problem(await c.post("/t/write", json={"n": 1}, headers=read), 403)
        assert body["required_scope"] == "write"
        write = {"Authorization": f"Bearer {KEYS['write']}"}
        assert (await c.post("/t/write", json={"n": 1}, headers=write)).status_code == 200
        _assert_problem(await c.post("/t/finance", headers=write), 403)
        _assert_problem(await c.post("/t/admin", headers=write), 403)
        fin = {"Authorization": f"Bearer {KEYS['finance']}"}
        assert (await c.post("/t/finance", headers=fin)).status_code == 200
        assert (await c.get("/t/read", headers=fin)).status_code == 200  # every scope reads


async def test_bad_bodies_are_problems(probe_app: FastAPI) -> None:
    async with app_client(probe_app, key=KEYS["admin"]) as c:
        body = _assert_problem(
            await c.post(
                "/t/write", content=b"{not json", headers={"content-type": "application/json"}
            ),
            400,
        )
        assert "JSON" in str(body["detail"])
        body = _assert_problem(
            await c.post("/t/write", content=b"n=1", headers={"content-type": "text/plain"}), 422
        )
        body = _assert_problem(await c.post("/t/write", json={"n": "x"}), 422)
        assert body["errors"][0]["loc"] == ["body", "n"]  # type: ignore[index]
        body = _assert_problem(await c.post("/t/write", json={"n": 1, "extra": 2}), 422)
        assert "extra" in str(body["detail"])


async def test_unhandled_error_is_500_problem_without_internals(probe_app: FastAPI) -> None:
    from httpx import ASGITransport, AsyncClient

    async with probe_app.router.lifespan_context(probe_app):
        transport = ASGITransport(app=probe_app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/t/boom")
    body = _assert_problem(r, 500)
    assert "secret internals" not in r.text
    assert r.headers["x-request-id"] in str(body["detail"])
