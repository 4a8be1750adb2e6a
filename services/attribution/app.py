"""The attribution service app factory: wires each domain's routes into one FastAPI app."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from attribution import __version__
from attribution.graphql.schema import build_schema
from attribution.models import api_keys
from attribution.replica.follower import Follower
from attribution.routers import ROUTERS
from attribution.settings import AttributionSettings
from ledgerkit.app import build_app
from ledgerkit.gctune import tune_gc_on_startup
from ledgerkit.graphql import graphql_router

DESCRIPTION = (
    "Rule sets agreed with finance (versioned, immutable once agreed) and reproducible runs "
    "that compute realized benefit per epic, KPI and period from a replica of outcomes data."
)


def create_app(
    settings: AttributionSettings | None = None,
    *,
    outcomes_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`outcomes_transport` lets tests point the follower at an in-process outcomes app."""
    settings = settings or AttributionSettings()

    async def start_follower(app: FastAPI) -> None:
        app.state.follower.start(settings.sync_interval)

    async def stop_follower(app: FastAPI) -> None:
        await app.state.follower.stop()

    app = build_app(
        service="attribution",
        title="Outcome Ledger — attribution",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        database_url=settings.database_url,
        key_table=api_keys,
        routers=ROUTERS,
        on_startup=[start_follower, tune_gc_on_startup],
        on_shutdown=[stop_follower],
    )
    schema = build_schema(settings)
    app.include_router(graphql_router(schema, graphiql=settings.graphiql))
    app.state.graphql_schema = schema
    app.state.follower = Follower(
        app.state.db,
        outcomes_url=settings.outcomes_url,
        api_key=settings.outcomes_api_key,
        transport=outcomes_transport,
    )
    return app
