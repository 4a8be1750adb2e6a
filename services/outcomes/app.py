"""The outcomes service app factory: wires each domain's routes into one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerkit.app import build_app
from ledgerkit.gctune import tune_gc_on_startup
from ledgerkit.graphql import graphql_router
from outcomes import __version__
from outcomes.embed.routes import warn_if_embed_secret_unset
from outcomes.graphql.schema import answer_cache, build_schema
from outcomes.models import api_keys
from outcomes.routers import ROUTERS
from outcomes.settings import OutcomesSettings
from outcomes.subscriptions.dispatcher import start_dispatcher, stop_dispatcher
from outcomes.webhooks.batcher import start_batcher, stop_batcher

DESCRIPTION = (
    "System of record for epics, KPIs (baseline, target), value hypotheses, measurements, "
    "value-council scores and the decision log, with an append-only, hash-chained change log."
)


def create_app(settings: OutcomesSettings | None = None) -> FastAPI:
    settings = settings or OutcomesSettings()
    app = build_app(
        service="outcomes",
        title="Outcome Ledger — outcomes",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        database_url=settings.database_url,
        key_table=api_keys,
        routers=ROUTERS,
        on_startup=[
            warn_if_embed_secret_unset,
            start_dispatcher,
            start_batcher,
            tune_gc_on_startup,
        ],
        on_shutdown=[stop_batcher, stop_dispatcher],
    )
    schema = build_schema(settings)
    app.include_router(
        graphql_router(
            schema,
            graphiql=settings.graphiql,
            answer_cache=answer_cache(settings, app.state.registry),
        )
    )
    app.state.graphql_schema = schema
    return app
