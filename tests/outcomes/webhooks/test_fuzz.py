"""Property: whatever a sender puts in a delivery's fields, the answer is 202 or a clear 4xx,
never a 5xx, and a 202 never hides a crash of ours."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.outcomes.webhooks.helpers import payload, post_ado, post_jira

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
CRASHES = ("TypeError", "AttributeError", "KeyError", "IndexError", "ValueError", "Assertion")
FIXTURES = [
    "jira/issue_created.json",
    "jira/issue_updated_labels.json",
    "jira/issue_deleted_thin.json",
    "ado/workitem_created.json",
    "ado/workitem_updated.json",
    "ado/workitem_deleted.json",
]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(FIXTURES))
    doc = payload(name)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        _set(doc, path, draw(JSON))
    return name, json.dumps(doc).encode()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated())
async def test_mutated_deliveries_never_crash(
    outcomes_client: httpx.AsyncClient, case: tuple[str, bytes]
) -> None:
    name, body = case
    post = post_jira if name.startswith("jira") else post_ado
    r = await post(outcomes_client, body)
    assert r.status_code in (202, 400, 422), r.text
    if r.status_code == 202:
        reason = r.json()["reason"] or ""
        assert not reason.startswith(CRASHES), reason
    else:
        assert r.headers["content-type"].startswith("application/problem+json")
