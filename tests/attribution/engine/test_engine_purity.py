"""The engine stays pure: only these modules may be imported by it (no web, DB or I/O)."""

import ast
from pathlib import Path

import attribution.engine

ALLOWED = {
    "__future__",
    "collections",
    "contextlib",
    "dataclasses",
    "datetime",
    "decimal",
    "functools",
    "hashlib",
    "json",
    "math",
    "re",
    "typing",
    "pydantic",
    "pydantic_core",
}


def test_engine_imports_only_stdlib_and_pydantic() -> None:
    package = Path(attribution.engine.__file__).parent
    found: set[str] = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    assert found <= ALLOWED, found - ALLOWED
