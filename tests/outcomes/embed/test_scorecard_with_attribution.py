"""End to end: the scorecard's Financial section reads realized benefit from the *real*
attribution service (served by uvicorn on 127.0.0.1), after attribution.md's worked example
went into outcomes, was followed into attribution's replica and published as an official
run."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import uvicorn

from ledgerkit.testing import app_client
from tests.attribution.helpers import WORKED_RULES, Linked
from tests.attribution.runs.test_worked_example import seed_worked_example
from tests.conftest import KEYS
from tests.reliability.server_process import free_port


async def test_financial_section_shows_the_official_run(
    embed_settings: Any, attribution_settings: Any
) -> None:
    from attribution.app import create_app as create_attribution
    from outcomes.app import create_app as create_outcomes

    port = free_port()
    outcomes_app = create_outcomes(
        embed_settings.model_copy(
            update={
                "attribution_url": f"http://127.0.0.1:{port}",
                "attribution_api_key": KEYS["read"],
            }
        )
    )
    attribution_app = create_attribution(
        attribution_settings.model_copy(update={"outcomes_api_key": KEYS["read"]}),
        outcomes_transport=httpx.ASGITransport(app=outcomes_app),
    )
    async with (
        app_client(outcomes_app, key=KEYS["admin"]) as outcomes,
        app_client(attribution_app, key=KEYS["admin"]) as attribution,
    ):
        linked = Linked(outcomes, attribution, attribution_app, outcomes_app)
        await seed_worked_example(linked)
        assert (await linked.sync())["lag"] == 0
        ruleset, _ = await linked.agreed_ruleset(WORKED_RULES)
        run = await linked.run(ruleset, "2026-04", "2026-06")
        assert run["status"] == "official"

        server = uvicorn.Server(
            uvicorn.Config(
                attribution_app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
            )
        )
        serving = asyncio.create_task(server.serve())
        try:
            for _ in range(200):  # bounded wait for the listener
                if server.started:
                    break
                await asyncio.sleep(0.02)
            r = await outcomes.post("/v1/embed-tokens", json={"filters": {}})
            page = await outcomes.get(r.json()["url"].removeprefix("https://ledger.example"))
        finally:
            server.should_exit = True
            await serving
    html = page.text
    assert page.status_code == 200
    assert "Realized benefit is unavailable" not in html
    assert "USD 768,000.00" in html and "154% of plan" in html  # PAY-12, planned 500,000
    assert 'run-rate <span class="nw">USD 4,608,000.00/yr</span>' in html
    assert "<td>2026-06</td>" in html  # payback period
    assert "USD 512,000.00" in html  # WEB-7
    assert "<td>— (no planned cost)</td>" in html
