"""The real outcomes app for GraphQL tests, with its background dispatcher off so that
statement counts see only what a query sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ledgerkit.testing import app_client
from tests.conftest import KEYS


@pytest.fixture
async def gql_client(outcomes_settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    from outcomes.app import create_app

    settings = outcomes_settings.model_copy(update={"outbound_interval": 0})
    async with app_client(create_app(settings), key=KEYS["admin"]) as client:
        yield client
