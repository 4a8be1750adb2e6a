"""The committed API contracts (OpenAPI YAML, GraphQL SDL), generated from the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from ledger_cli.services import ServiceSpec, select

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "openapi"


def render_openapi(spec: ServiceSpec) -> str:
    # Settings with no database access: generating the contract must not touch a database.
    app = spec.create_app(spec.settings())
    doc = app.openapi()
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def render_graphql(spec: ServiceSpec) -> str | None:
    app = spec.create_app(spec.settings())
    schema = getattr(app.state, "graphql_schema", None)
    if schema is None:
        return None
    return str(schema.as_str()) + "\n"


def expected_files() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for spec in select(None):
        files[OPENAPI_DIR / f"{spec.name}.yaml"] = render_openapi(spec)
        sdl = render_graphql(spec)
        if sdl is not None:
            files[OPENAPI_DIR / f"{spec.name}.graphql"] = sdl
    return files


def write_contracts() -> list[Path]:
    OPENAPI_DIR.mkdir(exist_ok=True)
    written = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written
