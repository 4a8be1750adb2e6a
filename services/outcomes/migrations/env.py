"""Alembic environment for the outcomes service (run through `ledger migrate`)."""

from alembic import context

from ledgerkit.migrate import run_env
from outcomes.models import Base

run_env(Base.metadata, context.config)
