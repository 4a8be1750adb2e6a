"""Batch resolvers: one call for a field of every object at one level of a query.

A BI query reaches `Epic.contributions` 500 times. Resolved per object, that is 500
coroutines, 500 DataLoader futures and 500 wake-ups just to hand one batch its keys. A
resolver marked with `@many(fn)` also has `fn(sources, info, **arguments)`, which the fast
executor (`ledgerkit.graphql_executor`) calls once with every object of the level; it
returns (an awaitable of) the values in the same order. graphql-core's own path — and the
executor's fallback — still call the plain resolver, so both must answer the same: `fn` is
normally the plain resolver's loads done at once with `load_all`, through the same loader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

F = TypeVar("F", bound=Callable[..., Any])
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MANY_ATTR = "__ledger_many__"


def many(fn: Callable[..., Any]) -> Callable[[F], F]:
    """Attach `fn(sources, info, **arguments)` as the level-at-once form of a resolver."""

    def mark(resolver: F) -> F:
        setattr(resolver, MANY_ATTR, fn)
        return resolver

    return mark


def many_of(resolver: Any) -> Callable[..., Any] | None:
    found = getattr(resolver, MANY_ATTR, None)
    return found if callable(found) else None


async def load_all(loader: DataLoader[K, V], keys: Sequence[K]) -> list[V]:
    """`loader.load_many(keys)` without a future per key: the keys not cached yet go to the
    loader's batch function in one call, and its results are primed into the loader's
    cache (later `load`s of those keys, on any path, reuse them)."""
    cache = loader.cache_map
    found: dict[K, V] = {}
    missing: list[K] = []
    waiting: list[tuple[K, asyncio.Future[V]]] = []
    for key in dict.fromkeys(keys):
        fut = cache.get(key)
        if fut is None:
            missing.append(key)
        elif fut.done():
            found[key] = fut.result()
        else:
            waiting.append((key, fut))
    if missing:
        values = await loader.load_fn(missing)
        if len(values) != len(missing):
            raise ValueError("a batch function returned the wrong number of values")
        loop = asyncio.get_running_loop()
        for key, value in zip(missing, values, strict=True):
            if isinstance(value, BaseException):
                raise value
            fut = loop.create_future()
            fut.set_result(value)
            cache.set(key, fut)
            found[key] = value
    for key, fut in waiting:
        found[key] = await fut
    return [found[k] for k in keys]
