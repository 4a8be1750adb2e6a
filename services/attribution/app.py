"""The attribution service app factory: wires each domain's routes into one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from attribution import __version__
from attribution.models import api_keys
from attribution.routers import ROUTERS
from attribution.settings import AttributionSettings
from ledgerkit.app import build_app

DESCRIPTION = (
    "Rule sets agreed with finance (versioned, immutable once agreed) and reproducible runs "
    "that compute realized benefit per epic, KPI and period from a replica of outcomes data."
)


def create_app(settings: AttributionSettings | None = None) -> FastAPI:
    settings = settings or AttributionSettings()
    return build_app(
        service="attribution",
        title="Outcome Ledger — attribution",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        database_url=settings.database_url,
        key_table=api_keys,
        routers=ROUTERS,
    )
