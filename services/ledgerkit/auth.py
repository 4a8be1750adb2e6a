"""Bearer API keys with scopes (`read`, `write`, `finance`, `admin`).

Keys come from the `LEDGER_API_KEYS` setting and from the service's key table (created by
`ledger keys create`, stored as sha256 hashes: keys are long random tokens, so a fast hash
is enough and a leaked table reveals no usable key). Every scope implies `read`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerkit.errors import Forbidden, Unauthorized, ValidationFailed

SCOPES = ("read", "write", "finance", "admin")
KEY_PREFIX = "lk_"
_CACHE_SECONDS = 10.0  # a revoked stored key stops working within this many seconds


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (recorded as the actor) and its scopes."""

    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes or (scope == "read" and bool(self.scopes))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.replace(",", "+").split("+") if s.strip())
    unknown = scopes - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s) {sorted(unknown)}; allowed: {', '.join(SCOPES)}")
    return scopes


@dataclass(frozen=True)
class StaticKey:
    digest: str
    principal: Principal


def parse_static_keys(setting: str) -> list[StaticKey]:
    """Parse `key:scope+scope,key2:scope`. The actor name is `env:` + a short hash."""
    out: list[StaticKey] = []
    for part in (p.strip() for p in setting.split(",")):
        if not part:
            continue
        key, sep, scopes = part.rpartition(":")
        if not sep or not key:
            raise ValueError("LEDGER_API_KEYS entries look like key:scope+scope")
        digest = hash_key(key)
        out.append(StaticKey(digest, Principal(f"env:{digest[:8]}", parse_scopes(scopes))))
    return out


def api_key_table(metadata: MetaData, name: str) -> Table:
    """The stored-keys table; each service owns one (its own migrations, its own name)."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(100), nullable=False, unique=True),
        Column("key_hash", String(64), nullable=False, unique=True),
        Column("prefix", String(12), nullable=False),
        Column("scopes", String(100), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True), nullable=True),
    )


class KeyStore:
    """Resolves presented keys to principals: static keys, then the stored-key table."""

    def __init__(self, static: list[StaticKey], table: Table) -> None:
        self.static = static
        self.table = table
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def resolve(
        self, key: str, session_factory: Callable[[], Awaitable[Principal | None]] | None = None
    ) -> Principal | None:
        digest = hash_key(key)
        found: Principal | None = None
        for sk in self.static:
            # Constant-time compare over every static key: no early exit leaks which matched.
            if hmac.compare_digest(sk.digest, digest):
                found = sk.principal
        if found is not None:
            return found
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
        principal = await session_factory() if session_factory else None
        self._cache[digest] = (now, principal)
        return principal

    async def lookup(self, session: AsyncSession, key: str) -> Principal | None:
        t = self.table
        row = (
            await session.execute(
                select(t.c.name, t.c.scopes).where(
                    t.c.key_hash == hash_key(key), t.c.revoked_at.is_(None)
                )
            )
        ).first()
        return Principal(row.name, parse_scopes(row.scopes)) if row else None


async def create_stored_key(
    session: AsyncSession, table: Table, name: str, scopes: frozenset[str], key: str | None = None
) -> str:
    """Store a new key (hashed) and return the plain key: it is shown once, never again."""
    if not scopes:
        raise ValidationFailed("a key needs at least one scope")
    key = key or generate_key()
    exists = (await session.execute(select(table.c.id).where(table.c.name == name))).first()
    if exists:
        raise ValidationFailed(f"a key named {name!r} already exists")
    await session.execute(
        insert(table).values(
            name=name,
            key_hash=hash_key(key),
            prefix=key[:8],
            scopes="+".join(sorted(scopes)),
            created_at=datetime.now(UTC),
        )
    )
    return key


async def revoke_stored_key(session: AsyncSession, table: Table, name: str) -> bool:
    res = await session.execute(
        update(table)
        .where(table.c.name == name, table.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(getattr(res, "rowcount", 0))


bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized(
            "Send an API key as `Authorization: Bearer <key>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    store: KeyStore = request.app.state.key_store
    db = request.app.state.db
    key = credentials.credentials

    async def from_db() -> Principal | None:
        async with db.session() as session:
            return await store.lookup(session, key)

    principal = await store.resolve(key, from_db)
    if principal is None:
        raise Unauthorized(
            "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"}
        )
    request.state.actor = principal.name
    return principal


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if not principal.has(scope):
            raise Forbidden(
                f"This needs the `{scope}` scope; the key {principal.name!r} has "
                f"{', '.join(sorted(principal.scopes)) or 'none'}.",
                required_scope=scope,
            )
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


ReadDep = Annotated[Principal, Depends(require_scope("read"))]
WriteDep = Annotated[Principal, Depends(require_scope("write"))]
FinanceDep = Annotated[Principal, Depends(require_scope("finance"))]
AdminDep = Annotated[Principal, Depends(require_scope("admin"))]
