"""Signed embed links: creation, validation, and refusal of missing/expired/tampered tokens."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime

import httpx

from tests.conftest import KEYS
from tests.outcomes.embed.conftest import SECRET


async def test_create_token_returns_url_token_and_expiry(embed_client: httpx.AsyncClient) -> None:
    before = time.time()
    r = await embed_client.post(
        "/v1/embed-tokens",
        json={"filters": {"stream": "revenue", "team": "Payments", "theme": "dark"}},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"] == f"https://ledger.example/embed/scorecard?token={body['token']}"
    assert body["filters"] == {
        "stream": "Revenue",
        "team": "Payments",
        "epic": None,
        "theme": "dark",
    }
    assert body["expires_at"].endswith("Z")
    exp = datetime.fromisoformat(body["expires_at"]).timestamp()
    assert before + 86400 - 5 <= exp <= time.time() + 86400 + 5  # one day by default
    payload = json.loads(base64.urlsafe_b64decode(body["token"].split(".")[0] + "=="))
    assert payload["f"] == {"stream": "Revenue", "team": "Payments", "theme": "dark"}


async def test_create_token_validation(embed_client: httpx.AsyncClient) -> None:
    async def post(body: object) -> httpx.Response:
        return await embed_client.post("/v1/embed-tokens", json=body)

    r = await post({"expires_in": 31 * 24 * 3600})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "expires_in"]
    assert (await post({"expires_in": 10})).status_code == 422
    r = await post({"filters": {"stream": "Marketing"}})
    assert r.status_code == 422 and "Revenue" in r.json()["detail"]
    assert (await post({"filters": {"theme": "neon"}})).status_code == 422
    r = await post({"filters": {"epic": "NOPE-1"}})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "filters", "epic"]
    assert (await post({"filters": {"colour": "red"}})).status_code == 422
    assert (await post({"filters": {}, "extra": 1})).status_code == 422


async def test_create_token_needs_write_scope(embed_client: httpx.AsyncClient) -> None:
    r = await embed_client.post(
        "/v1/embed-tokens", json={}, headers={"Authorization": f"Bearer {KEYS['read']}"}
    )
    assert r.status_code == 403
    r = await embed_client.post("/v1/embed-tokens", json={}, headers={"Authorization": ""})
    assert r.status_code == 401
    r = await embed_client.post(
        "/v1/embed-tokens", json={}, headers={"Authorization": f"Bearer {KEYS['write']}"}
    )
    assert r.status_code == 201


def _sign(payload: dict[str, object], secret: str = SECRET) -> str:
    from outcomes.embed import tokens

    claims = tokens.EmbedClaims(
        filters=payload.get("f", {}),  # type: ignore[arg-type]
        expires_at=int(payload["exp"]),  # type: ignore[call-overload]
        issued_at=int(payload["iat"]),  # type: ignore[call-overload]
    )
    return tokens.sign(claims, secret.encode())


def _assert_html_refusal(r: httpx.Response, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert words in r.text
    assert "frame-ancestors" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<h2" not in r.text  # no scorecard content


async def test_missing_token_is_401(embed_client: httpx.AsyncClient) -> None:
    _assert_html_refusal(await embed_client.get("/embed/scorecard"), 401, "signed link is needed")
    _assert_html_refusal(
        await embed_client.get("/embed/scorecard?token="), 401, "signed link is needed"
    )


async def test_expired_token_is_401_expired(embed_client: httpx.AsyncClient) -> None:
    now = int(time.time())
    token = _sign({"exp": now - 10, "iat": now - 3600})
    r = await embed_client.get(f"/embed/scorecard?token={token}")
    _assert_html_refusal(r, 401, "expired")


async def test_tampered_tokens_are_403(embed_client: httpx.AsyncClient) -> None:
    r = await embed_client.post("/v1/embed-tokens", json={"filters": {"team": "Payments"}})
    token = r.json()["token"]
    part, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(part + "=="))
    payload["f"] = {}  # widen the view
    payload["exp"] += 10**6  # and extend it
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    now = int(time.time())
    other_key = _sign({"exp": now + 3600, "iat": now}, secret="not-our-secret")
    flipped = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    for bad in (f"{forged}.{sig}", other_key, f"{part}.{flipped}", "garbage", "a.b.c", part):
        _assert_html_refusal(
            await embed_client.get("/embed/scorecard", params={"token": bad}), 403, "not valid"
        )
    # the genuine one still works
    r = await embed_client.get("/embed/scorecard", params={"token": token})
    assert r.status_code == 200


async def test_expired_but_tampered_is_403_not_401(embed_client: httpx.AsyncClient) -> None:
    now = int(time.time())
    token = _sign({"exp": now - 10, "iat": now - 3600}, secret="someone-else")
    r = await embed_client.get(f"/embed/scorecard?token={token}")
    _assert_html_refusal(r, 403, "not valid")
