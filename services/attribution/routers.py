"""Every domain's router, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from attribution.benefits.routes import router as benefits
from attribution.replica.routes import router as sync
from attribution.rulesets.routes import router as rulesets
from attribution.runs.routes import router as runs

ROUTERS: list[APIRouter] = [rulesets, runs, benefits, sync]
