"""Connections of plain-value nodes printed straight from rows.

A BI query's deepest lists — each KPI's last 12 measurements, `{ edges { node { period
value } } }` — are most of its values. Completing them the general way makes a node
object and an edge object per row and walks four levels of the selection per value. When
a connection's selection is only `totalCount`, `pageInfo { hasNextPage endCursor }` and
`edges { cursor node { … } }` over node fields that are columns printed as they are
(strings, integers, decimal text), `LeafConnection` prints the JSON-ready answer from the
page's rows in one pass. A batch resolver (`ledgerkit.graphql_many`) returns those answers
as a `Completed` column, which the fast executor uses as it is. Anything else in the
selection (aliases are fine; fragments, directives, `__typename`, arguments, a field
selected twice are not) means no `LeafConnection`: the field resolves the general way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.types.nodes import SelectedField

from ledgerkit.graphql import encode_offset, slice_bounds
from ledgerkit.graphql_executor import result_dicts
from ledgerkit.graphql_many import Completed

# A node field's row position and how its value is printed (None: as it is).
NodeColumn = tuple[int, Callable[[Any], Any] | None]
# An object-valued node field: its object from the row, completed by the executor.
NodeObject = Callable[[Any], Any]


__all__ = ["Completed", "LeafConnection", "NodeColumn", "NodeObject"]


def _plain(sel: Any) -> bool:
    return isinstance(sel, SelectedField) and not sel.directives and not sel.arguments


def _keys(selections: Sequence[Any]) -> list[tuple[str, str]] | None:
    """(response key, field name) of plain field selections with distinct keys."""
    out: list[tuple[str, str]] = []
    for sel in selections:
        if not _plain(sel):
            return None
        out.append((sel.alias or sel.name, sel.name))
    if len({k for k, _ in out}) != len(out):
        return None
    return out


@dataclass(frozen=True)
class LeafConnection:
    """A compiled connection selection (see the module doc)."""

    top: tuple[tuple[str, str], ...]  # (key, "totalCount" | "pageInfo" | "edges")
    page_info: tuple[tuple[str, str], ...]
    edge: tuple[tuple[str, str], ...]  # (key, "cursor" | "node")
    edges_key: str
    node_key: str
    # (key, row position, printer) for a column, (key, -1, object getter) for an object
    node: tuple[tuple[str, int, Callable[[Any], Any] | None], ...]
    objects: frozenset[str]  # the node keys whose values are objects to complete

    @classmethod
    def of(
        cls,
        selected: Any,
        columns: dict[str, NodeColumn],
        objects: dict[str, NodeObject] | None = None,
    ) -> LeafConnection | None:
        """The plan for one connection field's selection, or None (resolve generally).
        `objects`: node fields whose value is an object (any selection below it), left
        in the answer as holes the executor completes (`Completed.holes`)."""
        objects = objects or {}
        if not isinstance(selected, SelectedField) or selected.directives:
            return None
        top = _keys(selected.selections)
        if top is None:
            return None
        page_info: list[tuple[str, str]] = []
        edge: list[tuple[str, str]] = []
        node_key = ""
        node: list[tuple[str, int, Callable[[Any], Any] | None]] = []
        holes: set[str] = set()
        by_name = {sel.name: sel for sel in selected.selections if isinstance(sel, SelectedField)}
        for _, name in top:
            sel = by_name[name]
            if name == "totalCount":
                continue
            sub = _keys(sel.selections)
            if sub is None:
                return None
            if name == "pageInfo":
                if any(n not in ("hasNextPage", "endCursor") for _, n in sub):
                    return None
                page_info = sub
            elif name == "edges":
                if any(n not in ("cursor", "node") for _, n in sub):
                    return None
                edge = sub
                node_sel = next(
                    (
                        s
                        for s in sel.selections
                        if isinstance(s, SelectedField) and s.name == "node"
                    ),
                    None,
                )
                if node_sel is not None:
                    node_key = node_sel.alias or node_sel.name
                    fields = _keys(node_sel.selections)
                    if fields is None:
                        return None
                    for key, n in fields:
                        if n in columns:
                            node.append((key, *columns[n]))
                        elif n in objects:
                            node.append((key, -1, objects[n]))
                            holes.add(key)
                        else:
                            return None
            else:
                return None
        edges_key = next((k for k, n in top if n == "edges"), "")
        return cls(
            tuple(top),
            tuple(page_info),
            tuple(edge),
            edges_key,
            node_key,
            tuple(node),
            frozenset(holes),
        )

    def print(
        self,
        rows: list[Any],
        total: int,
        *,
        offset: int,
        first: int,
        holes: dict[tuple[str, ...], tuple[list[Any], list[Any]]] | None = None,
    ) -> dict[str, Any]:
        """The connection's answer from the `first + 1` rows fetched at `offset` (the
        same page `connection_from_slice` makes). Object fields' node dicts and objects
        are added to `holes` under their path (edges key, node key, field key)."""
        length, has_next, end_at = slice_bounds(len(rows), offset=offset, first=first, total=total)
        page = rows[:length]
        edges: list[dict[str, Any]] = []
        if self.edge:
            nodes: list[dict[str, Any]] = []
            if self.node:
                keys = [k for k, _, _ in self.node]
                columns = [
                    list(map(operator.itemgetter(at), page))
                    if convert is None
                    else [convert(r) for r in page]
                    if at < 0
                    else [None if r[at] is None else convert(r[at]) for r in page]
                    for _, at, convert in self.node
                ]
                nodes = result_dicts(keys, columns)
                if self.objects:
                    if holes is None:
                        raise ValueError("a connection with object fields needs `holes`")
                    for (key, _, _), column in zip(self.node, columns, strict=True):
                        if key in self.objects:
                            found = holes.setdefault((self.edges_key, self.node_key, key), ([], []))
                            found[0].extend(nodes)
                            found[1].extend(column)
            if len(self.edge) == 1 and self.edge[0][1] == "node":
                key = self.edge[0][0]
                edges = [{key: n} for n in nodes]
            else:
                for i in range(length):
                    edge: dict[str, Any] = {}
                    for key, name in self.edge:
                        edge[key] = nodes[i] if name == "node" else encode_offset(offset + i)
                    edges.append(edge)
        answer: dict[str, Any] = {}
        for key, name in self.top:
            if name == "totalCount":
                answer[key] = total
            elif name == "edges":
                answer[key] = edges
            else:
                info: dict[str, Any] = {}
                for k, n in self.page_info:
                    if n == "hasNextPage":
                        info[k] = has_next
                    else:
                        info[k] = None if end_at is None else encode_offset(end_at)
                answer[key] = info
        return answer
