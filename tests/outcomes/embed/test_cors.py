"""CORS for the APIs (portals calling REST/GraphQL from the browser): allowed origins from
CORS_ORIGINS, preflight answered, credentials never allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ledgerkit.testing import app_client
from tests.conftest import KEYS

ALLOWED = "https://portal.example"
OTHER = "https://evil.example"


@pytest.fixture
async def cors_client(outcomes_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    from outcomes.app import create_app

    settings = outcomes_settings.model_copy(
        update={"cors_origins": [ALLOWED, "http://127.0.0.1:3000"], "outbound_interval": 0}
    )
    async with app_client(create_app(settings), key=KEYS["read"]) as client:
        yield client


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        "Authorization": "",  # a browser sends no credentials on a preflight
    }


async def test_preflight_from_an_allowed_origin(cors_client: httpx.AsyncClient) -> None:
    r = await cors_client.options("/v1/embed-tokens", headers=_preflight(ALLOWED))
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed_headers = r.headers["access-control-allow-headers"].lower()
    for h in ("authorization", "content-type", "idempotency-key"):
        assert h in allowed_headers
    assert "access-control-allow-credentials" not in r.headers
    assert r.headers["vary"].lower().find("origin") >= 0
    assert int(r.headers["access-control-max-age"]) > 0


async def test_preflight_from_a_disallowed_origin(cors_client: httpx.AsyncClient) -> None:
    r = await cors_client.options("/v1/changes", headers=_preflight(OTHER, "GET"))
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers
    # an origin that only differs by port is a different origin
    r = await cors_client.options("/v1/changes", headers=_preflight("http://127.0.0.1:3001", "GET"))
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers


async def test_preflight_with_an_unlisted_header_is_refused(
    cors_client: httpx.AsyncClient,
) -> None:
    headers = _preflight(ALLOWED, "GET") | {"Access-Control-Request-Headers": "x-not-allowed"}
    r = await cors_client.options("/v1/changes", headers=headers)
    assert r.status_code == 400


async def test_simple_requests_carry_the_allow_origin_only_for_allowed_origins(
    cors_client: httpx.AsyncClient,
) -> None:
    r = await cors_client.get("/v1/changes", headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in r.headers
    assert "etag" in r.headers["access-control-expose-headers"].lower()
    r = await cors_client.get("/v1/changes", headers={"Origin": OTHER})
    assert r.status_code == 200  # the server answers; the browser withholds it from the page
    assert "access-control-allow-origin" not in r.headers
    # errors (problem+json) carry it too, so the portal can read why
    r = await cors_client.get(
        "/v1/changes", headers={"Origin": ALLOWED, "Authorization": "Bearer nope"}
    )
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == ALLOWED


async def test_no_cors_headers_when_no_origins_are_configured(
    outcomes_client: httpx.AsyncClient,
) -> None:
    r = await outcomes_client.options("/v1/changes", headers=_preflight(ALLOWED, "GET"))
    assert "access-control-allow-origin" not in r.headers
    r = await outcomes_client.get("/v1/changes", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in r.headers
