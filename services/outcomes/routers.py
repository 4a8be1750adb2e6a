"""Every domain's router, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from outcomes.changes.routes import router as changes_router
from outcomes.contributions.routes import router as contributions_router
from outcomes.decisions.routes import router as decisions_router
from outcomes.embed.routes import router as embed_router
from outcomes.epics.routes import router as epics_router
from outcomes.exports.routes import router as exports_router
from outcomes.kpis.routes import router as kpis_router
from outcomes.measurements.routes import router as measurements_router
from outcomes.scores.routes import router as scores_router
from outcomes.subscriptions.routes import router as subscriptions_router
from outcomes.webhooks.routes import router as webhooks_router

ROUTERS: list[APIRouter] = [changes_router]
ROUTERS.append(epics_router)
ROUTERS.append(kpis_router)
ROUTERS.append(measurements_router)
ROUTERS.append(contributions_router)
ROUTERS.append(scores_router)
ROUTERS.append(decisions_router)
ROUTERS.append(exports_router)
ROUTERS.append(embed_router)
ROUTERS.append(webhooks_router)
ROUTERS.append(subscriptions_router)
