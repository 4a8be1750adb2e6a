"""Authenticity: Jira HMAC signatures, ADO basic auth and shared-secret header. A refused
delivery is a 401 problem, recorded as `rejected`, and changes nothing."""

from __future__ import annotations

import httpx

from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.verify import sign_jira, verify_jira
from tests.outcomes.webhooks.conftest import ClientFactory
from tests.outcomes.webhooks.helpers import (
    accepted,
    basic,
    changes,
    deliveries,
    delivery,
    epic,
    payload,
    post_ado,
    post_jira,
    raw,
)

SECRET = "It's a Secret to Everybody"


def test_atlassian_test_vector() -> None:
    expected = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    assert sign_jira(SECRET, b"Hello World!") == expected
    verify_jira(WebhookConfig(jira_secret=SECRET), {"x-hub-signature": expected}, b"Hello World!")


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = r.json()
    assert body["type"] == f"/problems/{code}"
    assert isinstance(body["delivery_id"], str)
    return body


async def test_jira_signature(webhook_client: ClientFactory) -> None:
    async with webhook_client(jira_webhook_secret=SECRET) as client:
        body = raw("jira/issue_created.json")
        accepted(await post_jira(client, body, secret=SECRET), "processed")
        # sha512 is accepted too (the method is read from the header).
        upd = raw("jira/issue_updated_labels.json")
        h = {"X-Hub-Signature": sign_jira(SECRET, upd, "sha512")}
        accepted(await post_jira(client, upd, headers=h), "processed")
        before = await epic(client, "PAY-12")

        status = raw("jira/issue_updated_status.json")
        cases = {
            "wrong secret": await post_jira(client, status, secret="not the secret"),
            "missing": await post_jira(client, status),
            "other body": await post_jira(
                client, status, headers={"X-Hub-Signature": sign_jira(SECRET, body)}
            ),
            "no method": await post_jira(client, status, headers={"X-Hub-Signature": "abc"}),
            "md5": await post_jira(client, status, headers={"X-Hub-Signature": "md5=00"}),
        }
        for name, r in cases.items():
            problem = _problem(r, 401, "webhook-unauthorized")
            d = await delivery(client, str(problem["delivery_id"]))
            assert d["status"] == "rejected", name
            assert d["reason"].startswith("webhook-unauthorized"), name
        assert await epic(client, "PAY-12") == before
        assert len(await deliveries(client, status="rejected")) == len(cases)
        assert [c["action"] for c in await changes(client)] == ["created", "updated"]
        # A rejected delivery for a failed signature cannot be replayed.
        r = await client.post(f"/v1/webhook-deliveries/{problem['delivery_id']}/replay")
        assert r.status_code == 409, r.text


async def test_jira_without_secret_accepts_unsigned(outcomes_client: httpx.AsyncClient) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")


async def test_ado_basic_auth(webhook_client: ClientFactory) -> None:
    async with webhook_client(ado_basic_user="ado-hook", ado_basic_password="s3cret") as client:
        good = {"Authorization": basic("ado-hook", "s3cret")}
        accepted(
            await post_ado(client, raw("ado/workitem_created.json"), headers=good), "processed"
        )
        for headers in (
            {},
            {"Authorization": basic("ado-hook", "wrong")},
            {"Authorization": basic("someone", "s3cret")},
            {"Authorization": "Basic !!!not-base64"},
            {"Authorization": "Bearer s3cret"},
        ):
            r = await post_ado(client, raw("ado/workitem_updated.json"), headers=headers)
            problem = _problem(r, 401, "webhook-unauthorized")
            assert r.headers["www-authenticate"].startswith("Basic")
            d = await delivery(client, str(problem["delivery_id"]))
            assert d["status"] == "rejected"
            # Credentials are never stored.
            assert "s3cret" not in str(d["headers"])
        assert (await epic(client, "ADO-3107"))["status"] == "proposed"
        stored = (await deliveries(client, status="processed"))[0]
        assert stored["headers"]["authorization"] == "Basic <redacted>"


async def test_ado_header_secret(webhook_client: ClientFactory) -> None:
    async with webhook_client(
        ado_header_name="X-Outcome-Ledger-Token", ado_header_secret="tok-123"
    ) as client:
        good = {"X-Outcome-Ledger-Token": "tok-123"}
        accepted(
            await post_ado(client, raw("ado/workitem_created.json"), headers=good), "processed"
        )
        bad = {"X-Outcome-Ledger-Token": "tok-124"}
        _problem(
            await post_ado(client, raw("ado/workitem_updated.json"), headers=bad),
            401,
            "webhook-unauthorized",
        )
        _problem(
            await post_ado(client, raw("ado/workitem_updated.json")), 401, "webhook-unauthorized"
        )
        items = await deliveries(client)
        assert [d["headers"].get("x-outcome-ledger-token") for d in items] == [
            "<redacted>",
            "<redacted>",
            None,
        ]


async def test_ado_both_mechanisms_must_pass(webhook_client: ClientFactory) -> None:
    async with webhook_client(
        ado_basic_user="u", ado_basic_password="p", ado_header_secret="tok"
    ) as client:
        body = payload("ado/workitem_created.json")
        only_basic = {"Authorization": basic("u", "p")}
        _problem(await post_ado(client, body, headers=only_basic), 401, "webhook-unauthorized")
        both = {**only_basic, "X-Outcome-Ledger-Token": "tok"}
        accepted(await post_ado(client, body, headers=both), "processed")
