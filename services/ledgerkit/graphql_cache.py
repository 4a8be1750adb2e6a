"""Answers of read-only GraphQL queries, reused while the data they were computed from has
not changed.

BI tools and portals ask the same queries again and again (a dashboard refresh, every
viewer of a report), while the ledger's data changes in discrete, logged steps. A service
that can name its *data version* cheaply — outcomes: the head `seq` of the append-only
change log, which every write advances in the same transaction as the data
(`outcomes.graphql.schema.data_version`) — lets an answer be reused exactly as long as it
is still the answer:

- key: (query text, operation name, variables, the caller's scopes) and the version read
  **before** executing. The answer is computed from data at least that new, so a later
  request that reads the same version gets an answer no older than its own execution would
  see; any write moves the version and the entry is never used again.
- only `query` operations without errors are kept; mutations, subscriptions and anything
  that fails run every time. Authentication still runs on every request.
- bounded: least recently used entries go first once `max_bytes` of encoded answers are
  held (per process); an answer larger than a quarter of that is not kept.

Writes that bypass the API (an operator's SQL, a restore into a running service) do not
move the change log: restart the service, or run with `GRAPHQL_ANSWER_CACHE_MB=0` (also
the way to measure raw execution).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from prometheus_client import CollectorRegistry, Counter
from strawberry.types import ExecutionResult

# The data version for a request's context; None means "do not reuse answers now".
DataVersion = Callable[[Any], Awaitable[Hashable | None]]
_MAX_QUERY_BYTES = 20_000  # the schema refuses larger documents anyway


@functools.lru_cache(maxsize=512)
def is_query(query: str, operation_name: str | None) -> bool:
    """True when the document's selected operation is a `query` (not a mutation)."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation == OperationType.QUERY


@dataclass(frozen=True)
class _Entry:
    version: Hashable
    result: ExecutionResult
    size: int


class AnswerCache:
    """A per-process LRU of query answers keyed by the data version (see module doc)."""

    def __init__(
        self,
        version: DataVersion,
        *,
        max_bytes: int,
        registry: CollectorRegistry | None = None,
        service: str = "",
    ) -> None:
        self.version = version
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._lookups = Counter(
            "ledger_graphql_answer_cache_lookups_total",
            "GraphQL query answers looked up in the answer cache, by result (hit or miss).",
            ["service", "result"],
            registry=registry,
        )
        self._service = service

    @staticmethod
    def key(
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        scopes: frozenset[str],
    ) -> Hashable | None:
        """The cache key of a request, or None when it must not be cached."""
        if not query or len(query) > _MAX_QUERY_BYTES or not is_query(query, operation_name):
            return None
        try:
            frozen = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        return (query, operation_name, frozen, scopes)

    def get(self, key: Hashable, version: Hashable) -> ExecutionResult | None:
        entry = self._entries.get(key)
        if entry is None or entry.version != version:
            self._lookups.labels(self._service, "miss").inc()
            return None
        self._entries.move_to_end(key)
        self._lookups.labels(self._service, "hit").inc()
        return entry.result

    def put(self, key: Hashable, version: Hashable, result: ExecutionResult) -> None:
        if result.errors or result.data is None:
            return
        size = len(orjson.dumps(result.data))
        if size > self.max_bytes // 4:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._entries[key] = _Entry(version, result, size)
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._entries)
