"""Pure parsing and mapping rules (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from outcomes.webhooks.ado import parse_ado
from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.events import ItemState
from outcomes.webhooks.jira import parse_jira
from outcomes.webhooks.mapping import map_labels, map_status, person_name
from outcomes.webhooks.parsing import parse_date, parse_datetime
from tests.outcomes.webhooks.helpers import raw

NOW = datetime(2026, 5, 1, tzinfo=UTC)
CONFIG = WebhookConfig()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-01T10:15:30.000+0000", datetime(2026, 4, 1, 10, 15, 30, tzinfo=UTC)),
        ("2026-04-03T16:27:12.508+0200", datetime(2026, 4, 3, 14, 27, 12, 508000, tzinfo=UTC)),
        ("2026-04-06T07:02:51.804-0600", datetime(2026, 4, 6, 13, 2, 51, 804000, tzinfo=UTC)),
        ("2026-04-09T15:47:12.0442187Z", datetime(2026, 4, 9, 15, 47, 12, 44218, tzinfo=UTC)),
        ("2026-04-01T09:12:44.27Z", datetime(2026, 4, 1, 9, 12, 44, 270000, tzinfo=UTC)),
        ("2026-04-01T09:12:44Z", datetime(2026, 4, 1, 9, 12, 44, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        (12, None),
    ],
)
def test_source_timestamps(text: object, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


def test_dates() -> None:
    assert parse_date("2026-06-30") == date(2026, 6, 30)
    assert parse_date("2026-04-06T00:00:00Z") == date(2026, 4, 6)
    assert parse_date("2026-02-30") is None
    assert parse_date(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Priya Raman <priya.raman@outcome-ledger.example>", "Priya Raman"),
        ("Priya Raman <CONTOSO\\praman>", "Priya Raman"),
        ("<someone@example.com>", "someone@example.com"),
        ("Just A Name", "Just A Name"),
        ({"displayName": "Mara Lindqvist", "accountId": "x"}, "Mara Lindqvist"),
        ({"uniqueName": "a@b.c"}, "a@b.c"),
        ({}, None),
        (None, None),
        ("  ", None),
    ],
)
def test_people(value: object, expected: str | None) -> None:
    assert person_name(value) == expected


def test_labels_to_streams_and_kpis() -> None:
    m = map_labels(
        ("outcome-CX", "Outcome-revenue", "kpi-Checkout-Conversion", "outcome-x", "kpi-", "other"),
        "outcome-",
        "kpi-",
    )
    assert m.streams == ["Revenue", "CX"]
    assert m.kpis == ["checkout-conversion"]
    assert [w["code"] for w in m.warnings] == ["unknown-stream", "invalid-kpi-label"]
    ado = map_labels(
        ("Outcome: Cost", "KPI: cost-per-ticket", "kpi:cost-per-ticket"), "Outcome:", "KPI:"
    )
    assert (ado.streams, ado.kpis) == (["Cost"], ["cost-per-ticket"])


def _state(name: str | None, category: str | None = None) -> ItemState:
    return ItemState(None, None, name, category, (), None, None, None, None)


def test_status_mapping() -> None:
    assert map_status("jira", _state("To Do"), CONFIG) == "proposed"
    assert map_status("jira", _state("IN PROGRESS"), CONFIG) == "active"
    assert map_status("jira", _state("Waiting", "done"), CONFIG) == "done"
    assert map_status("jira", _state("Waiting"), CONFIG) is None
    assert map_status("ado", _state("Active"), CONFIG) == "active"
    assert map_status("ado", _state("Closed"), CONFIG) == "done"
    assert map_status("ado", _state("Removed"), CONFIG) == "cut"
    assert map_status("ado", _state("Weird"), CONFIG) is None


def test_parsed_fixtures() -> None:
    created = parse_jira(
        raw("jira/issue_created.json"), {"x-atlassian-webhook-identifier": "abc"}, CONFIG, NOW
    )
    assert (created.action, created.item_id, created.key) == ("upsert", "10412", "PAY-12")
    assert created.dedupe_key == "outcome-ledger-demo.atlassian.net:abc"
    thin = parse_jira(raw("jira/issue_deleted_thin.json"), {}, CONFIG, NOW)
    assert (thin.action, thin.state, thin.key) == ("delete", None, "PAY-12")
    assert thin.order_at == datetime.fromtimestamp(1777456398.120, UTC)
    upd = parse_ado(raw("ado/workitem_updated.json"), {}, CONFIG, NOW)
    assert (upd.item_id, upd.order_rev, upd.dedupe_key) == ("3107", 5, "3107:5")
    assert upd.state is not None and upd.state.labels == ("Outcome:Cost", "KPI:cost-per-ticket")
    older = parse_ado(raw("ado/workitem_updated_rev_older.json"), {}, CONFIG, NOW)
    deleted = parse_ado(raw("ado/workitem_deleted.json"), {}, CONFIG, NOW)
    restored = parse_ado(raw("ado/workitem_restored.json"), {}, CONFIG, NOW)
    # Sortable ordering values: rev first, then notification time (delete/restore share rev 5).
    orders = [older.item_order, upd.item_order, deleted.item_order, restored.item_order]
    assert orders == sorted(orders)
    assert deleted.dedupe_key != restored.dedupe_key
