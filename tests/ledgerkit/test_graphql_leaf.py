"""`LeafConnection`: which connection selections are printed straight from rows, and
what it prints (the same answer `connection_from_slice` + completion give)."""

from __future__ import annotations

from typing import Any

from strawberry.types.nodes import FragmentSpread, SelectedField

from ledgerkit.graphql import encode_offset
from ledgerkit.graphql_leaf import LeafConnection

COLUMNS = {"period": (0, None), "value": (1, lambda v: f"{v}!")}


def f(name: str, *sel: Any, alias: str | None = None, **arguments: Any) -> SelectedField:
    return SelectedField(name, {}, arguments, list(sel), alias)


def conn(*sel: Any) -> SelectedField:
    return f("measurements", *sel)


def test_plain_selections_are_printed_from_rows() -> None:
    leaf = LeafConnection.of(
        conn(
            f("totalCount", alias="n"),
            f("edges", f("node", f("period"), f("value", alias="v")), f("cursor")),
            f("pageInfo", f("hasNextPage"), f("endCursor")),
        ),
        COLUMNS,
    )
    assert leaf is not None
    rows = [("2024-01", 1), ("2024-02", None), ("2024-03", 3)]  # first: 2 fetches 3
    assert leaf.print(rows, 9, offset=4, first=2) == {
        "n": 9,
        "edges": [
            {"node": {"period": "2024-01", "v": "1!"}, "cursor": encode_offset(4)},
            {"node": {"period": "2024-02", "v": None}, "cursor": encode_offset(5)},
        ],
        "pageInfo": {"hasNextPage": True, "endCursor": encode_offset(5)},
    }
    assert leaf.print([], 9, offset=9, first=2) == {
        "n": 9,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


def test_anything_else_is_resolved_the_general_way() -> None:
    edges = f("edges", f("node", f("period")))
    for selection in (
        conn(edges, f("__typename")),  # not a connection field it prints
        conn(edges, edges),  # selected twice (merged by GraphQL)
        conn(f("edges", f("node", f("recordedAt")))),  # a column it does not print
        conn(f("edges", f("node", f("period", n=1)))),  # arguments
        conn(f("edges", f("node", FragmentSpread("M", "Measurement", {}, [])))),
        conn(f("pageInfo", f("hasPreviousPage"))),
        SelectedField("measurements", {"include": {"if": True}}, {}, [edges]),
    ):
        assert LeafConnection.of(selection, COLUMNS) is None


def test_object_fields_are_left_as_holes_for_the_executor() -> None:
    leaf = LeafConnection.of(
        conn(f("edges", f("node", f("period"), f("kpi", f("slug")), alias="n"), alias="e")),
        COLUMNS,
        {"kpi": lambda row: f"kpi of {row[0]}"},
    )
    assert leaf is not None
    holes: dict[tuple[str, ...], tuple[list[Any], list[Any]]] = {}
    first = leaf.print([("2024-01", 1)], 1, offset=0, first=5, holes=holes)
    second = leaf.print([("2024-02", 2), ("2024-03", 3)], 2, offset=0, first=5, holes=holes)
    dicts, objects = holes[("e", "n", "kpi")]
    assert objects == ["kpi of 2024-01", "kpi of 2024-02", "kpi of 2024-03"]
    assert dicts == [first["e"][0]["n"], *(e["n"] for e in second["e"])]
    assert dicts[0] == {"period": "2024-01", "kpi": "kpi of 2024-01"}
