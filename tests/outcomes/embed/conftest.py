"""Embed tests: the outcomes app with a fixed embed secret and portal origins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ledgerkit.testing import app_client
from tests.conftest import KEYS

SECRET = "test-embed-secret"
PORTAL = "https://portal.example"


@pytest.fixture
def embed_settings(outcomes_settings: Any) -> Any:
    return outcomes_settings.model_copy(
        update={
            "embed_secret": SECRET,
            "embed_allowed_origins": [PORTAL, "http://127.0.0.1:8443"],
            "public_url": "https://ledger.example/",
            "outbound_interval": 0,
        }
    )


@pytest.fixture
async def embed_client(embed_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    from outcomes.app import create_app

    async with app_client(create_app(embed_settings), key=KEYS["admin"]) as client:
        yield client
