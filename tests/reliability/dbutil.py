"""Plain SQL helpers for reliability tests: ad-hoc queries and a checksum of whole databases."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import MetaData, text

from ledgerkit.db import create_engine


async def sql(url: str, query: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(query), params)).all())
    finally:
        await engine.dispose()


async def table_digests(
    url: str, metadata: MetaData, exclude: frozenset[str] = frozenset()
) -> dict[str, str]:
    """{table: sha256 of all its rows, ordered} for every table of `metadata` (a change to
    any row of any table changes its digest)."""
    engine = create_engine(url)
    out: dict[str, str] = {}
    try:
        async with engine.connect() as conn:
            for name, table in sorted(metadata.tables.items()):
                if name in exclude:
                    continue
                cols = ", ".join(f'"{c.name}"' for c in table.columns)
                rows = (await conn.execute(text(f'SELECT {cols} FROM "{name}"'))).all()
                lines = sorted(repr(tuple(row)) for row in rows)
                digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
                out[name] = f"{len(lines)}:{digest}"
    finally:
        await engine.dispose()
    return out
