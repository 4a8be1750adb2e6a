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

from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

F = TypeVar("F", bound=Callable[..., Any])
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MANY_ATTR = "__ledger_many__"


class Completed(list[Any]):
    """A batch resolver's values that are already completed results (JSON-ready), one
    per source object: the fast executor uses them as they are (`ledgerkit.graphql_leaf`
    makes them) — except its `holes`: by response-key path below the field, the dicts
    holding an object (in the path's last key) and those objects, which the executor
    completes with the selection at that path and puts in place."""

    def __init__(self, *values: Any) -> None:
        super().__init__(*values)
        self.holes: dict[tuple[str, ...], tuple[list[Any], list[Any]]] = {}


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
    """`loader.load_many(keys)` without a future per key: the keys not loaded yet go to
    the loader's batch function in one call. Its results are kept with the loader for
    later `load_all`s of the same keys (e.g. the same field under an alias); `load`s of
    them — graphql-core's path — read again (only on the executor's fallback)."""
    done: dict[K, V] | None = getattr(loader, _DONE, None)
    if done is None:
        done = {}
        setattr(loader, _DONE, done)
    missing = [k for k in dict.fromkeys(keys) if k not in done]
    if missing:
        values = await loader.load_fn(missing)
        if len(values) != len(missing):
            raise ValueError("a batch function returned the wrong number of values")
        for key, value in zip(missing, values, strict=True):
            if isinstance(value, BaseException):
                raise value
            done[key] = value
    return [done[k] for k in keys]


_DONE = "_ledger_loaded"
