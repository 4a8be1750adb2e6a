"""All attribution table models, in one package so domains never import each other's tables.

Table names are prefixed so both services can share one PostgreSQL database.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from ledgerkit.auth import api_key_table
from ledgerkit.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


api_keys = api_key_table(Base.metadata, "attribution_api_keys")

__all__ = ["Base", "api_keys"]
