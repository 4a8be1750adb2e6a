"""Fixtures: the outcomes app with webhook settings chosen per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from ledgerkit.testing import app_client
from outcomes.app import create_app
from tests.conftest import KEYS

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def webhook_client(outcomes_settings: Any) -> ClientFactory:
    """`async with webhook_client(JIRA_WEBHOOK_SECRET=..., ...) as client:` — the real app
    with these settings (field names or env names), authenticated as admin."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        fields = {k.lower(): v for k, v in overrides.items()}
        settings = type(outcomes_settings)(**{**outcomes_settings.model_dump(), **fields})
        async with app_client(create_app(settings), key=KEYS["admin"]) as client:
            yield client

    return factory
