"""`kpi-<slug>` labels and `KPI:<slug>` tags link epics to KPIs (no claimed share)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.outcomes.builders import make_contribution, make_kpi
from tests.outcomes.webhooks.helpers import (
    accepted,
    changes,
    epic,
    payload,
    post_ado,
    post_jira,
    raw,
)


async def _links(client: httpx.AsyncClient, ref: str) -> list[tuple[str, Any]]:
    r = await client.get(f"/v1/epics/{ref}/contributions")
    assert r.status_code == 200, r.text
    return [(c["kpi"], c["claimed_share"]) for c in r.json()["items"]]


def _labels_update(labels: list[str], updated: str) -> dict[str, Any]:
    body = payload("jira/issue_updated_labels.json")
    body["issue"]["fields"]["labels"] = labels
    body["issue"]["fields"]["updated"] = updated
    return body


async def test_jira_kpi_label_links_without_a_share(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "checkout-conversion")
    accepted(await post_jira(outcomes_client, raw("jira/issue_created.json")), "processed")
    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_labels.json")), "processed")
    assert await _links(outcomes_client, "PAY-12") == [("checkout-conversion", None)]
    assert (await epic(outcomes_client, "PAY-12"))["warnings"] == []
    made = [c for c in await changes(outcomes_client) if c["entity"] == "contribution"]
    assert [(c["actor"], c["action"]) for c in made] == [("jira", "created")]
    # The same labels again (a later edit of something else): nothing new.
    again = _labels_update(
        ["kpi-checkout-conversion", "outcome-cx", "outcome-revenue"], "2026-04-02T10:00:00.000+0000"
    )
    accepted(await post_jira(outcomes_client, again), "processed")
    assert await _links(outcomes_client, "PAY-12") == [("checkout-conversion", None)]

    # Removing the label removes the bare link.
    gone = _labels_update(["outcome-cx"], "2026-04-03T10:00:00.000+0000")
    accepted(await post_jira(outcomes_client, gone), "processed")
    assert await _links(outcomes_client, "PAY-12") == []
    e = await epic(outcomes_client, "PAY-12")
    assert (e["streams"], e["warnings"]) == (["CX"], [])


async def test_removed_label_keeps_a_link_with_a_share(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "checkout-conversion")
    await make_kpi(outcomes_client, "basket-size")
    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_labels.json")), "processed")
    r = await outcomes_client.patch(
        "/v1/epics/PAY-12/contributions/checkout-conversion", json={"claimed_share": "0.4"}
    )
    assert r.status_code == 200, r.text
    # A link made by hand (no label) is never touched by label changes.
    await make_contribution(outcomes_client, "PAY-12", "basket-size")
    gone = _labels_update(["outcome-cx"], "2026-04-03T10:00:00.000+0000")
    accepted(await post_jira(outcomes_client, gone), "processed")
    assert await _links(outcomes_client, "PAY-12") == [
        ("checkout-conversion", "0.4"),
        ("basket-size", None),
    ]
    warnings = (await epic(outcomes_client, "PAY-12"))["warnings"]
    assert [(w["code"], w["kpi"]) for w in warnings] == [("kpi-link-kept", "checkout-conversion")]


async def test_unknown_kpi_warns_then_links_once_it_exists(
    outcomes_client: httpx.AsyncClient,
) -> None:
    accepted(await post_jira(outcomes_client, raw("jira/issue_updated_labels.json")), "processed")
    e = await epic(outcomes_client, "PAY-12")
    assert [w["code"] for w in e["warnings"]] == ["unknown-kpi"]
    assert await _links(outcomes_client, "PAY-12") == []
    await make_kpi(outcomes_client, "checkout-conversion")
    # Case-insensitive prefix and slug.
    body = _labels_update(["KPI-Checkout-Conversion", "Outcome-CX"], "2026-04-03T10:00:00.000+0000")
    accepted(await post_jira(outcomes_client, body), "processed")
    e = await epic(outcomes_client, "PAY-12")
    assert (e["warnings"], e["streams"]) == ([], ["CX"])
    assert await _links(outcomes_client, "PAY-12") == [("checkout-conversion", None)]


async def test_ado_kpi_tag(outcomes_client: httpx.AsyncClient) -> None:
    await make_kpi(outcomes_client, "cost-per-ticket", stream="Cost", direction="decrease")
    for name in ("workitem_created", "workitem_updated"):
        accepted(await post_ado(outcomes_client, raw(f"ado/{name}.json")), "processed")
    assert await _links(outcomes_client, "ADO-3107") == [("cost-per-ticket", None)]
    # Delete archives but keeps the link; restore keeps it too.
    accepted(await post_ado(outcomes_client, raw("ado/workitem_deleted.json")), "processed")
    accepted(await post_ado(outcomes_client, raw("ado/workitem_restored.json")), "processed")
    assert await _links(outcomes_client, "ADO-3107") == [("cost-per-ticket", None)]
