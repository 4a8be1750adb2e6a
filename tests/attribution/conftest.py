"""Attribution tests: the real attribution app whose follower reads the real outcomes app's
change feed over HTTP (httpx ASGITransport into the outcomes app), on the real databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.attribution.helpers import Linked
from tests.conftest import KEYS


@pytest.fixture
async def linked(outcomes_settings, attribution_settings) -> AsyncIterator[Linked]:  # type: ignore[no-untyped-def]
    from attribution.app import create_app as create_attribution
    from ledgerkit.testing import app_client
    from outcomes.app import create_app as create_outcomes

    outcomes_app = create_outcomes(outcomes_settings)
    settings = attribution_settings.model_copy(update={"outcomes_api_key": KEYS["read"]})
    attribution_app = create_attribution(
        settings, outcomes_transport=httpx.ASGITransport(app=outcomes_app)
    )
    async with (
        app_client(outcomes_app, key=KEYS["admin"]) as outcomes,
        app_client(attribution_app, key=KEYS["admin"]) as attribution,
    ):
        yield Linked(outcomes, attribution, attribution_app, outcomes_app)
