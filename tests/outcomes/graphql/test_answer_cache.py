"""The GraphQL answer cache: a query's answer is reused while the change log's head is
unchanged, never across a write, never for mutations or errors, and per set of scopes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ledgerkit.testing import app_client
from tests.conftest import KEYS
from tests.outcomes.builders import make_epic
from tests.outcomes.graphql.helpers import app_of, count_statements

EPICS = "query($first: Int!) { epics(first: $first) { totalCount edges { node { key title } } } }"


async def _post(client: httpx.AsyncClient, query: str, **variables: Any) -> httpx.Response:
    r = await client.post("/graphql", json={"query": query, "variables": variables or None})
    assert r.status_code == 200, r.text
    return r


async def test_reused_until_a_write_moves_the_change_log(gql_client: httpx.AsyncClient) -> None:
    await make_epic(gql_client, key="EP-1", title="First")
    first = await _post(gql_client, EPICS, first=10)
    assert first.headers["x-answer-cache"] == "miss"
    with count_statements(app_of(gql_client)) as counter:
        again = await _post(gql_client, EPICS, first=10)
    assert again.headers["x-answer-cache"] == "hit"
    assert again.content == first.content
    # Only the data version is read (plus the BEGIN SQLite's driver sends).
    reads = [s for s in counter.statements if s.upper().startswith("SELECT")]
    assert len(reads) == 1 and "max(changes.seq)" in reads[0], counter.statements
    # Other variables: another answer.
    other = await _post(gql_client, EPICS, first=1)
    assert other.headers["x-answer-cache"] == "miss"

    # A REST write, then a GraphQL mutation: each moves the head, so each is seen at once.
    await make_epic(gql_client, key="EP-2", title="Second")
    after_rest = await _post(gql_client, EPICS, first=10)
    assert after_rest.headers["x-answer-cache"] == "miss"
    assert after_rest.json()["data"]["epics"]["totalCount"] == 2
    mutation = await _post(
        gql_client,
        'mutation { updateEpic(ref: "EP-2", patch: {title: "Renamed"}) { title } }',
    )
    assert mutation.json()["data"]["updateEpic"]["title"] == "Renamed"
    assert "x-answer-cache" not in mutation.headers  # mutations are never cached
    after_mutation = await _post(gql_client, EPICS, first=10)
    assert after_mutation.headers["x-answer-cache"] == "miss"
    titles = [e["node"]["title"] for e in after_mutation.json()["data"]["epics"]["edges"]]
    assert titles == ["First", "Renamed"]


async def test_errors_are_not_kept(gql_client: httpx.AsyncClient) -> None:
    query = '{ epics(after: "not-a-cursor") { totalCount } }'
    for _ in range(2):
        r = await _post(gql_client, query)
        assert r.json()["errors"]
        assert r.headers["x-answer-cache"] == "miss"


async def test_each_set_of_scopes_has_its_own_answers(
    gql_client: httpx.AsyncClient, outcomes_settings: Any
) -> None:
    await make_epic(gql_client, key="EP-1")
    admin = await _post(gql_client, EPICS, first=5)
    assert admin.headers["x-answer-cache"] == "miss"
    reader = app_of(gql_client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=reader),
        base_url="http://test",
        headers={"Authorization": f"Bearer {KEYS['read']}"},
    ) as read_client:
        r = await _post(read_client, EPICS, first=5)
        assert r.headers["x-answer-cache"] == "miss"
        assert r.content == admin.content
        assert (await _post(read_client, EPICS, first=5)).headers["x-answer-cache"] == "hit"
        # Without a key: 401, whatever is cached.
        r = await read_client.post(
            "/graphql",
            json={"query": EPICS, "variables": {"first": 5}},
            headers={"Authorization": ""},
        )
        assert r.status_code == 401


async def test_concurrent_askers_share_one_execution(gql_client: httpx.AsyncClient) -> None:
    for i in range(3):
        await make_epic(gql_client, key=f"EP-{i}")
    with count_statements(app_of(gql_client)) as counter:
        answers = await asyncio.gather(*(_post(gql_client, EPICS, first=50) for _ in range(8)))
    assert len({a.content for a in answers}) == 1
    assert sorted(a.headers["x-answer-cache"] for a in answers) == ["hit"] * 7 + ["miss"]
    page_queries = [s for s in counter.statements if "FROM epics" in s and "count" not in s]
    assert len(page_queries) == 1, counter.statements


@pytest.mark.parametrize("size_mb", [0])
async def test_off_when_set_to_zero(outcomes_settings: Any, size_mb: int) -> None:
    from outcomes.app import create_app

    settings = outcomes_settings.model_copy(
        update={"graphql_answer_cache_mb": size_mb, "outbound_interval": 0}
    )
    async with app_client(create_app(settings), key=KEYS["admin"]) as client:
        for _ in range(2):
            r = await _post(client, EPICS, first=5)
            assert "x-answer-cache" not in r.headers
