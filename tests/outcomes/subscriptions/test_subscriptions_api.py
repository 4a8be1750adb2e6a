"""`/v1/subscriptions`: create (validated), read, list, deactivate, deliveries listing."""

from __future__ import annotations

import httpx

from tests.conftest import KEYS


async def test_create_read_list_delete(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/subscriptions",
        json={"url": "https://portal.example/hooks", "event_types": ["epic.created", "*"]},
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert r.headers["location"] == f"/v1/subscriptions/{sub['id']}"
    assert sub["active"] is True and sub["pending"] == 0
    assert sub["event_types"] == ["epic.created", "*"]
    assert isinstance(sub["secret"], str) and len(sub["secret"]) >= 32  # generated, shown once

    got = (await client.get(f"/v1/subscriptions/{sub['id']}")).json()
    assert "secret" not in got
    assert got["url"] == "https://portal.example/hooks"

    r = await client.post(
        "/v1/subscriptions",
        json={
            "url": "http://127.0.0.1:9/x",
            "event_types": ["decision.recorded"],
            "secret": "a-long-enough-secret",
        },
    )
    assert r.status_code == 201 and r.json()["secret"] is None  # the caller's is not echoed
    second = r.json()["id"]

    items = (await client.get("/v1/subscriptions")).json()["items"]
    assert [i["id"] for i in items] == [sub["id"], second]
    page = (await client.get("/v1/subscriptions", params={"limit": 1})).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = (
        await client.get("/v1/subscriptions", params={"limit": 1, "cursor": page["next_cursor"]})
    ).json()
    assert [i["id"] for i in rest["items"]] == [second]

    assert (await client.delete(f"/v1/subscriptions/{sub['id']}")).status_code == 204
    items = (await client.get("/v1/subscriptions")).json()["items"]
    assert [i["id"] for i in items] == [second]
    everything = (await client.get("/v1/subscriptions?include_inactive=true")).json()["items"]
    assert {i["id"]: i["active"] for i in everything} == {sub["id"]: False, second: True}
    assert (await client.get(f"/v1/subscriptions/{sub['id']}")).json()["active"] is False


async def test_validation(client: httpx.AsyncClient) -> None:
    async def post(body: object) -> httpx.Response:
        return await client.post("/v1/subscriptions", json=body)

    ok = {"url": "https://x.example/h", "event_types": ["*"]}
    for bad_url in (
        "ftp://x.example/h",
        "javascript:alert(1)",
        "/relative",
        "https://u:p@x.example/",
    ):
        r = await post(ok | {"url": bad_url})
        assert r.status_code == 422, bad_url
        assert r.json()["errors"][0]["loc"][-1] == "url"
    r = await post(ok | {"event_types": ["epic.created", "epic.exploded"]})
    assert r.status_code == 422 and "epic.exploded" in r.text
    assert (await post(ok | {"event_types": []})).status_code == 422
    assert (await post(ok | {"secret": "short"})).status_code == 422
    assert (await post(ok | {"colour": "red"})).status_code == 422
    # A change-log position is an integer, not a bool or a numeric string.
    for after in (False, True, "3", 2.5):
        assert (await post(ok | {"after": after})).status_code == 422, after
    assert (await post(ok | {"event_types": ["run.published"]})).status_code == 201  # reserved


async def test_admin_only(client: httpx.AsyncClient) -> None:
    body = {"url": "https://x.example/h", "event_types": ["*"]}
    for scope in ("read", "write", "finance"):
        h = {"Authorization": f"Bearer {KEYS[scope]}"}
        assert (await client.post("/v1/subscriptions", json=body, headers=h)).status_code == 403
        assert (await client.get("/v1/subscriptions", headers=h)).status_code == 403


async def test_unknown_subscription_is_404(client: httpx.AsyncClient) -> None:
    for r in (
        await client.get("/v1/subscriptions/nope"),
        await client.delete("/v1/subscriptions/nope"),
        await client.get("/v1/subscriptions/nope/deliveries"),
    ):
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/subscription-not-found"
    r = await client.get("/v1/subscriptions/x/deliveries", params={"status": "lost"})
    assert r.status_code == 422
