"""Where this service's migrations live and which version table they use."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from ledgerkit.migrate import alembic_config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_outcomes"


def migrations_config() -> Config:
    return alembic_config(MIGRATIONS_DIR, VERSION_TABLE)
