"""Helpers for webhook tests: fixture payloads, signed/authenticated posts, inbox reads."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures"
_ids = itertools.count(1)


def payload(name: str) -> dict[str, Any]:
    """A fixture as a dict (a deep copy: tests may edit it)."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return copy.deepcopy(data)


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def body_bytes(body: bytes | dict[str, Any]) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_jira(
    client: httpx.AsyncClient,
    body: bytes | dict[str, Any],
    *,
    identifier: str | None = None,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /webhooks/jira like Jira Cloud does (a fresh identifier unless given)."""
    data = body_bytes(body)
    h = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": identifier or f"wh-{next(_ids)}",
        "X-Atlassian-Webhook-Flow": "Primary",
        "Authorization": "",
    }
    if secret is not None:
        h["X-Hub-Signature"] = sign(secret, data)
    h.update(headers or {})
    return await client.post("/webhooks/jira", content=data, headers=h)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def post_ado(
    client: httpx.AsyncClient,
    body: bytes | dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    h = {"Content-Type": "application/json; charset=utf-8", "Authorization": ""}
    h.update(headers or {})
    return await client.post("/webhooks/azure-devops", content=body_bytes(body), headers=h)


def accepted(r: httpx.Response, status: str) -> str:
    """Assert a 202 with this processing status; return the delivery id."""
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == status, body
    delivery_id: str = body["delivery_id"]
    return delivery_id


async def epic(client: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    r = await client.get(f"/v1/epics/{ref}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def delivery(client: httpx.AsyncClient, delivery_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/webhook-deliveries/{delivery_id}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def deliveries(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/webhook-deliveries", params={"limit": "500", **params})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def changes(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await client.get("/v1/changes", params={"limit": "5000"})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items
