"""`GET /v1/exports/epics.csv`: one row per epic × KPI, filters, formula-safe cells."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from ledgerkit.db import Database
from outcomes.models import Contribution, Epic, Kpi
from tests.outcomes.builders import agree_baseline, make_epic, make_kpi, record_measurements

HEADER = [
    "key",
    "title",
    "streams",
    "status",
    "team",
    "kpi",
    "unit",
    "baseline",
    "target",
    "due",
    "latest_value",
    "latest_period",
]


async def link(url: str, epic_key: str, kpi_slug: str, share: str | None = None) -> None:
    """Contribution rows written directly (the contributions API is another domain's)."""
    db = Database(url)
    try:
        async with db.session(write=True) as s:
            epic_pk = (await s.scalars(select(Epic.pk).where(Epic.key == epic_key))).one()
            kpi_pk = (await s.scalars(select(Kpi.pk).where(Kpi.slug == kpi_slug))).one()
            s.add(
                Contribution(
                    epic_pk=epic_pk,
                    kpi_pk=kpi_pk,
                    claimed_share=Decimal(share) if share else None,
                )
            )
    finally:
        await db.dispose()


async def rows(client: httpx.AsyncClient, **params: Any) -> list[list[str]]:
    r = await client.get("/v1/exports/epics.csv", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "epics.csv" in r.headers["content-disposition"]
    parsed = list(csv.reader(io.StringIO(r.text)))
    assert parsed[0] == HEADER
    return parsed[1:]


async def test_csv_rows_per_epic_and_kpi(
    outcomes_client: httpx.AsyncClient, database_urls: dict[str, str]
) -> None:
    url = database_urls["outcomes"]
    await make_kpi(
        outcomes_client, "checkout-conversion", target={"value": "3.3", "due": "2026-06-30"}
    )
    await agree_baseline(outcomes_client, "checkout-conversion", value="2.10")
    await record_measurements(
        outcomes_client, "checkout-conversion", {"2026-03": "2.4", "2026-04": "2.6"}
    )
    await make_kpi(outcomes_client, "aov", unit="currency")
    await make_epic(
        outcomes_client,
        key="PAY-12",
        title="Next-best-offer, at checkout",
        streams=["Revenue", "CX"],
        status="active",
        team="Payments",
    )
    await make_epic(outcomes_client, key="OPS-1", title='=HYPERLINK("http://x")', team="+Ops")
    await make_epic(outcomes_client, key="OLD-1", title="Archived")
    await outcomes_client.delete("/v1/epics/OLD-1")
    await link(url, "PAY-12", "checkout-conversion", "0.5")
    await link(url, "PAY-12", "aov")

    got = await rows(outcomes_client)
    assert got == [
        ["PAY-12", "Next-best-offer, at checkout", "Revenue;CX", "active", "Payments",
         "aov", "currency", "", "", "", "", ""],
        ["PAY-12", "Next-best-offer, at checkout", "Revenue;CX", "active", "Payments",
         "checkout-conversion", "percent", "2.1", "3.3", "2026-06-30", "2.6", "2026-04"],
        ["OPS-1", "'=HYPERLINK(\"http://x\")", "", "proposed", "'+Ops",
         "", "", "", "", "", "", ""],
    ]  # fmt: skip
    assert [r[0] for r in await rows(outcomes_client, include_archived="true")] == [
        "PAY-12",
        "PAY-12",
        "OPS-1",
        "OLD-1",
    ]
    assert [r[0] for r in await rows(outcomes_client, stream="cx")] == ["PAY-12", "PAY-12"]
    assert [r[0] for r in await rows(outcomes_client, kpi="aov")] == ["PAY-12", "PAY-12"]
    assert [r[0] for r in await rows(outcomes_client, q="hyperlink")] == ["OPS-1"]
    assert await rows(outcomes_client, team="nobody") == []

    # the list's `kpi` filter uses the same links
    listed = (await outcomes_client.get("/v1/epics", params={"kpi": "aov"})).json()["items"]
    assert [e["key"] for e in listed] == ["PAY-12"]

    # corrections: the latest current value is exported
    await record_measurements(outcomes_client, "checkout-conversion", {"2026-04": "2.7"})
    assert (await rows(outcomes_client, kpi="checkout-conversion"))[1][10] == "2.7"

    bad = await outcomes_client.get("/v1/exports/epics.csv", params={"stream": "Growth"})
    assert bad.status_code == 422


async def test_csv_streams_many_epics(outcomes_client: httpx.AsyncClient) -> None:
    for i in range(12):
        await make_epic(outcomes_client, key=f"M-{i:02d}")
    from outcomes.exports import service

    original = service.BATCH
    service.BATCH = 5  # several batches
    try:
        got = await rows(outcomes_client)
    finally:
        service.BATCH = original
    assert [r[0] for r in got] == [f"M-{i:02d}" for i in range(12)]
