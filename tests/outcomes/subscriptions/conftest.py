"""Outbound-event tests: the outcomes app with the background dispatcher off (tests drive
`dispatch_once`), and a real receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ledgerkit.testing import app_client
from tests.conftest import KEYS
from tests.outcomes.subscriptions.receiver import Receiver


@pytest.fixture
def outbound_settings(outcomes_settings: Any) -> Any:
    return outcomes_settings.model_copy(
        update={"outbound_interval": 0, "outbound_backoff_base": 1.0, "outbound_backoff_cap": 60}
    )


@pytest.fixture
def outcomes_app(outbound_settings: Any) -> FastAPI:
    from outcomes.app import create_app

    app: FastAPI = create_app(outbound_settings)
    return app


@pytest.fixture
async def client(outcomes_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(outcomes_app, key=KEYS["admin"]) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()
