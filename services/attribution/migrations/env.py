"""Alembic environment for the attribution service (run through `ledger migrate`)."""

from alembic import context

from attribution.models import Base
from ledgerkit.migrate import run_env

run_env(Base.metadata, context.config)
