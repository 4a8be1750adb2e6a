"""Per-request dependencies: the unit-of-work session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.db import Database

_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Opens the request's session; commits after the handler returns, before the response
    is sent (so a 2xx means committed), and rolls back when the handler raises."""
    db: Database = request.app.state.db
    async with db.session(write=request.method not in _READ_METHODS) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
