"""GraphQL plumbing both services share: auth context, limits, error masking, Relay pages.

Limits (each answers a GraphQL error, never a crash): query text size, depth, aliases,
and a cost budget where a list field multiplies the cost of what it selects by its
`first` argument (or a default page size).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
import strawberry
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from sqlalchemy import Executable, Result, Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.fastapi import BaseContext, GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult, Info
from strawberry.types.nodes import SelectedField

from ledgerkit.auth import Principal, current_principal
from ledgerkit.db import Database
from ledgerkit.errors import Forbidden, LedgerError
from ledgerkit.graphql_cache import AnswerCache
from ledgerkit.graphql_rows import fetch_rows
from ledgerkit.settings import CommonSettings

MAX_FIRST = 500
DEFAULT_FIRST = 50
T = TypeVar("T")


@dataclass
class GraphQLContext(BaseContext):
    """Per-request context: who is calling, the database, and the request's DataLoaders."""

    principal: Principal | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
    # The answer will be encoded by orjson (the HTTP path): the executor may then hand an
    # object completed once but reached many times (a KPI under 1,000 contributions) over
    # as one pre-encoded `orjson.Fragment` rather than have it encoded 1,000 times.
    json_fragments: bool = False
    db: Database | None = None
    _conn: AsyncConnection | None = field(default=None, repr=False)
    _session: AsyncSession | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def loader(self, name: str, factory: Callable[[], T]) -> T:
        """One DataLoader per name per request: batches and caches within the request."""
        if name not in self.loaders:
            self.loaders[name] = factory()
        loader: T = self.loaders[name]
        return loader

    @property
    def dialect(self) -> str:
        """The database's SQLAlchemy dialect name (`postgresql`, `sqlite`)."""
        if self.db is None:
            raise RuntimeError("GraphQLContext has no database")
        return str(self.db.engine.dialect.name)

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        """Run a read statement on the request's one read connection (opened on first use).

        Loaders of one level may fire concurrently; a lock keeps them to one statement at a
        time on the connection, so a request never holds more than one pooled connection.
        """
        async with self._lock:
            return await (await self._read_conn()).execute(statement, params)

    async def rows(self, statement: Select[Any], params: dict[str, Any] | None = None) -> list[Any]:
        """`execute(statement, params).all()`, from asyncpg directly when SQLAlchemy would
        not change the values (`ledgerkit.graphql_rows`): for loaders' prebuilt statements."""
        async with self._lock:
            return await fetch_rows(await self._read_conn(), statement, params)

    async def _read_conn(self) -> AsyncConnection:
        """The request's read connection, opened on first use (callers hold `_lock`)."""
        if self.db is None:
            raise RuntimeError("GraphQLContext has no database")
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        return self._conn

    async def read_session(self) -> AsyncSession:
        """A read session for domain service functions (the same ones REST calls); it is
        closed after the request. Resolvers sharing it must not run statements
        concurrently: use it from root fields, loaders use `execute`."""
        if self.db is None:
            raise RuntimeError("GraphQLContext has no database")
        if self._session is None:
            self._session = self.db.sessionmaker()()
        return self._session

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """A write unit of work for a mutation: commits when the block ends, rolls back when
        it raises (as REST's session does). Cached reads and loaders are dropped afterwards,
        so what the mutation returns is read fresh."""
        if self.db is None:
            raise RuntimeError("GraphQLContext has no database")
        await self.close_reads()
        async with self.db.session(write=True) as session:
            yield session
        self.loaders.clear()

    async def close_reads(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            session, self._session = self._session, None
            if conn is not None:
                await conn.close()
            if session is not None:
                await session.close()


def require_scope(info: Info[GraphQLContext, Any], scope: str) -> Principal:
    principal = info.context.principal
    if principal is None or not principal.has(scope):
        raise Forbidden(f"This needs the `{scope}` scope.")
    return principal


async def _principal(request: Request) -> Principal:
    credentials = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        from fastapi.security import HTTPAuthorizationCredentials

        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=header[7:])
    return await current_principal(request, credentials)


async def graphql_context(request: Request) -> AsyncIterator[GraphQLContext]:
    """Same bearer keys and scopes as REST; a missing/unknown key is a 401 problem.

    The context's read connection (if a resolver opened one) is released after the request.
    """
    principal = await _principal(request)
    context = GraphQLContext(principal=principal, db=getattr(request.app.state, "db", None))
    try:
        yield context
    finally:
        await context.close_reads()
        # The loaders' caches hold the request's whole object graph, in reference cycles
        # (loader → batch function → context → loaders): dropping them frees it now, by
        # reference counting, instead of leaving it to the cyclic collector.
        context.loaders.clear()


class QuerySizeLimiter(SchemaExtension):
    """Refuse query documents larger than a cap before parsing them."""

    max_bytes = 20_000

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query or ""
        if len(query.encode()) > self.max_bytes:
            raise GraphQLError(
                f"The query is {len(query.encode())} bytes; the limit is {self.max_bytes}."
            )
        yield


def _first_arg(node: FieldNode, variables: dict[str, Any]) -> int | None:
    """The page size a list field asks for: its `first` (or Relay `last`) argument."""
    for arg in node.arguments or ():
        if arg.name.value not in ("first", "last"):
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value)
            return int(value) if isinstance(value, int) else None
    return None


class QueryCostLimiter(SchemaExtension):
    """A cost budget: each field costs 1 × the product of the page sizes above it."""

    max_cost = 250_000
    list_fields: frozenset[str] = frozenset()
    # Per-field page-size estimate when the query gives no `first`/`last` (e.g. an epic's
    # KPIs: a handful, although up to the default page could come back).
    list_sizes: dict[str, int] = {}

    def on_validate(self) -> Iterator[None]:
        doc = self.execution_context.graphql_document
        if doc is not None:
            fragments = {
                d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)
            }
            variables = self.execution_context.variables or {}
            for definition in doc.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    cost = self._cost(definition.selection_set, 1, fragments, variables, 0)
                    if cost > self.max_cost:
                        raise GraphQLError(
                            f"The query's estimated cost {cost} exceeds the budget "
                            f"{self.max_cost}; ask for fewer rows (smaller `first`) or fields."
                        )
        yield

    def _cost(
        self,
        selection: SelectionSetNode | None,
        multiplier: int,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        depth: int,
    ) -> int:
        if selection is None or depth > 50:
            return 0
        total = 0
        for node in selection.selections:
            if isinstance(node, FieldNode):
                total += multiplier
                first = _first_arg(node, variables)
                name = node.name.value
                if first is not None:
                    size = first
                elif name in self.list_sizes:
                    size = self.list_sizes[name]
                else:
                    size = DEFAULT_FIRST if name in self.list_fields else 1
                total += self._cost(
                    node.selection_set, multiplier * max(size, 1), fragments, variables, depth + 1
                )
            elif isinstance(node, InlineFragmentNode):
                total += self._cost(node.selection_set, multiplier, fragments, variables, depth + 1)
            elif isinstance(node, FragmentSpreadNode):
                frag = fragments.get(node.name.value)
                if frag is not None:
                    total += self._cost(
                        frag.selection_set, multiplier, fragments, variables, depth + 1
                    )
        return total


class LedgerSchema(strawberry.federation.Schema):
    """Logs only unexpected failures: a client's own errors (bad arguments, a missing
    scope, syntax, limits) are answered, not logged with a traceback at error level."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any | None = None
    ) -> None:
        unexpected = [e for e in errors if _should_mask(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def ledger_schema(
    settings: CommonSettings,
    *,
    query: type,
    mutation: type | None = None,
    types: Sequence[type] = (),
    list_sizes: dict[str, int],
    max_cost: int,
) -> strawberry.federation.Schema:
    """A service's federation-ready schema with the shared scalars, the fast executor and
    the limits (`list_sizes`: the cost estimate of each list field without `first`)."""
    from ledgerkit.graphql_executor import FastCompletionExecutor
    from ledgerkit.graphql_scalars import SCALARS

    return LedgerSchema(
        query=query,
        mutation=mutation,
        types=list(types),
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=FastCompletionExecutor,
        extensions=schema_extensions(
            introspection=settings.graphql_introspection,
            list_fields=frozenset(list_sizes),
            list_sizes=list_sizes,
            max_cost=max_cost,
        ),
    )


class LedgerMaskErrors(MaskErrors):
    """Mask internal failures; give our own errors machine-readable `extensions`
    (`code`, `status`, and `errors` for validation) like the REST problem documents."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        out = super()._process_errors(errors)
        for error in out:
            original = error.original_error
            if isinstance(original, LedgerError):
                error.extensions = {**(error.extensions or {}), **ledger_error_extensions(original)}
            elif original is None and error.message == self.error_message:
                error.extensions = {**(error.extensions or {}), "code": "internal-error"}
        return out


def _should_mask(error: GraphQLError) -> bool:
    # Our own errors and GraphQL's (syntax, validation, limits) are for the client to read;
    # anything else is an internal failure and is masked.
    original = error.original_error
    return original is not None and not isinstance(original, LedgerError | GraphQLError)


def schema_extensions(
    *,
    introspection: bool,
    max_depth: int = 10,
    max_aliases: int = 30,
    max_cost: int = 250_000,
    max_bytes: int = 20_000,
    list_fields: frozenset[str] = frozenset(),
    list_sizes: dict[str, int] | None = None,
) -> list[Any]:
    size = type("SizeLimiter", (QuerySizeLimiter,), {"max_bytes": max_bytes})
    cost = type(
        "CostLimiter",
        (QueryCostLimiter,),
        {"max_cost": max_cost, "list_fields": list_fields, "list_sizes": dict(list_sizes or {})},
    )
    # The validation rules are made once, so a repeated query (a BI dashboard's refresh)
    # finds its parse and validation result in the caches: same document, same rules.
    rules: list[Any] = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    if not introspection:
        from graphql.validation import NoSchemaIntrospectionCustomRule

        rules.append(NoSchemaIntrospectionCustomRule)
    # Factories, not instances: strawberry builds fresh extensions for every request.
    extensions: list[Any] = [
        size,
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        cost,
        lambda: LedgerMaskErrors(
            should_mask_error=_should_mask, error_message="Internal server error"
        ),
    ]
    return extensions


class LedgerGraphQLRouter(GraphQLRouter[Any, Any]):
    """Responses encoded with orjson (BI answers run to megabytes); query answers reused
    through an `AnswerCache` while the data version stays the same."""

    answer_cache: AnswerCache | None = None
    _in_flight: dict[Any, asyncio.Future[ExecutionResult | None]]

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        if isinstance(context, GraphQLContext):
            context.json_fragments = True  # encoded by `encode_json` (orjson)
        cache = self.answer_cache
        principal = getattr(context, "principal", None)
        key = None
        if cache is not None and principal is not None and principal.has("read"):
            key = cache.key(
                request_data.query,
                request_data.operation_name,
                request_data.variables,
                frozenset(principal.scopes),
            )
        if cache is None or key is None:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        version = await cache.version(context)
        if version is None:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        hit = cache.get(key, version)
        if hit is not None:
            sub_response.headers["X-Answer-Cache"] = "hit"
            return hit
        # One execution per (query, version) at a time: concurrent askers wait for it (and
        # run it themselves if it failed).
        flight = (key, version)
        waiting = self._in_flight.get(flight)
        if waiting is not None:
            shared = await asyncio.shield(waiting)
            if shared is not None:
                sub_response.headers["X-Answer-Cache"] = "hit"
                return shared
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        future: asyncio.Future[ExecutionResult | None] = asyncio.get_running_loop().create_future()
        self._in_flight[flight] = future
        result: ExecutionResult | None = None
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        finally:
            self._in_flight.pop(flight, None)
            future.set_result(result if result is not None and not result.errors else None)
        assert result is not None
        cache.put(key, version, result)
        sub_response.headers["X-Answer-Cache"] = "miss"
        return result


async def check_graphql_body(request: Request) -> None:
    """Refuse a POST body that is not a JSON object with a string `query` as a 400/415
    problem, before strawberry sees it: its own answers to such bodies are plain-text 400s,
    or a 500 for invalid UTF-8 or very deep nesting."""
    if request.method != "POST":
        return
    await _principal(request)  # a missing or unknown key is a 401 whatever the body holds
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type.startswith("multipart/") or content_type == "":
        raise GraphQLMediaType("Send the GraphQL request as `application/json`.")
    if content_type != "application/json":
        return  # strawberry answers other types (e.g. application/graphql) itself
    body = await request.body()
    try:
        payload = orjson.loads(body)  # refuses invalid UTF-8 and nesting deeper than 1024
    except orjson.JSONDecodeError as exc:
        raise MalformedGraphQLRequest(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(payload, dict):
        raise MalformedGraphQLRequest("The body must be a JSON object with a `query` string.")
    query = payload.get("query")
    if not isinstance(query, str) and not payload.get("extensions"):
        raise MalformedGraphQLRequest("The body needs a `query` string.")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise MalformedGraphQLRequest("`variables` must be a JSON object.")


class MalformedGraphQLRequest(LedgerError):
    status, code, title = 400, "malformed-graphql-request", "Malformed GraphQL request"


class GraphQLMediaType(LedgerError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


def graphql_router(
    schema: strawberry.Schema, *, graphiql: bool, answer_cache: AnswerCache | None = None
) -> GraphQLRouter[Any, Any]:
    context_getter: Callable[..., AsyncIterator[GraphQLContext]] = graphql_context
    router = LedgerGraphQLRouter(
        schema,
        path="/graphql",
        context_getter=context_getter,
        graphql_ide="graphiql" if graphiql else None,
        include_in_schema=True,
        tags=["graphql"],
        dependencies=[Depends(check_graphql_body)],
    )
    router.answer_cache = answer_cache
    router._in_flight = {}
    for route in router.routes:
        if isinstance(route, APIRoute):
            method = "get" if "GET" in (route.methods or ()) else "post"
            route.operation_id = f"graphql-{method}_graphql"
            if method == "get":  # the GraphiQL page (HTML) or a query sent by GET (JSON)
                route.responses[200] = {
                    "description": "The GraphiQL page (when GRAPHIQL is on), or the answer "
                    "to a query sent as `?query=`.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
    return router


# ---- Relay connections ---------------------------------------------------------------


@strawberry.type
class PageInfo:
    has_next_page: bool
    # The last edge's position (an offset, or a ready-made cursor), encoded when asked for.
    end_at: strawberry.Private[int | str | None]

    @strawberry.field
    def end_cursor(self) -> str | None:
        at = self.end_at
        return encode_offset(at) if isinstance(at, int) else at


@strawberry.type
class Edge(Generic[T]):
    node: T
    # The edge's position: an offset (its cursor is encoded only when asked for — a BI
    # query's thousands of edges rarely are) or a ready-made cursor string.
    at: strawberry.Private[int | str]

    def cursor_text(self) -> str:
        at = self.at
        return at if isinstance(at, str) else encode_offset(at)

    @strawberry.field
    def cursor(self) -> str:
        return self.cursor_text()


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def node_fields(info: Info[Any, Any]) -> frozenset[str] | None:
    """The field names selected on `edges { node { … } }` of this connection field, or
    None when that is not plain fields (fragments, `nodes` shortcuts…). Loaders use it to
    read only the columns a query shows."""
    names: set[str] = set()
    for selected in info.selected_fields:
        for sel in selected.selections:
            if not isinstance(sel, SelectedField):
                return None
            if sel.name != "edges":
                continue
            for edge_sel in sel.selections:
                if not isinstance(edge_sel, SelectedField):
                    return None
                if edge_sel.name != "node":
                    continue
                for node_sel in edge_sel.selections:
                    if not isinstance(node_sel, SelectedField):
                        return None
                    names.add(node_sel.name)
    return frozenset(names)


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError(cursor)
        return int(text[2:]) + 1
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise GraphQLError("`after` is not a cursor this service issued.") from exc


def check_first(first: int) -> int:
    if first < 0 or first > MAX_FIRST:
        raise GraphQLError(f"`first` must be between 0 and {MAX_FIRST}; got {first}.")
    return first


def slice_bounds(
    fetched: int, *, offset: int, first: int, total: int
) -> tuple[int, bool, int | None]:
    """For `fetched` (≤ `first + 1`) rows read at `offset`: how many are on the page,
    whether there is a next page, and the last edge's offset (None for an empty page)."""
    length = min(fetched, first)
    return (
        length,
        fetched > first or offset + length < total,
        offset + length - 1 if length else None,
    )


def connection_from_slice(nodes: list[T], *, offset: int, first: int, total: int) -> Connection[T]:
    """Build a connection from the `first + 1` rows fetched at `offset`."""
    length, has_next, end_at = slice_bounds(len(nodes), offset=offset, first=first, total=total)
    edges = [Edge(node=n, at=offset + i) for i, n in enumerate(nodes[:length])]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_at=end_at),
        total_count=total,
    )


def ledger_error_extensions(error: LedgerError) -> dict[str, Any]:
    out: dict[str, Any] = {"code": error.code, "status": error.status}
    if error.errors:
        out["errors"] = error.errors
    out.update({k: v for k, v in error.extra.items() if isinstance(v, str | int | bool)})
    return out
