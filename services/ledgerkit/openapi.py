"""Make the generated OpenAPI document tell the whole truth about errors.

FastAPI documents only 200 and 422 (as plain JSON). Every operation here can also answer
problem+json for 401/403 (authenticated routes), 400/413 (routes with a body), 503 (the
database is down) and 500; 422 is problem+json too. Documenting them lets contract tests
(schemathesis) and client generators rely on the document.

It also adds OpenAPI links from each create (`POST` → 201) to the operations on what it
created (`POST /v1/epics` → `GET/PATCH/DELETE /v1/epics/{ref}` with `$response.body#/id`), so
stateful tests and client generators can follow them; see `add_links`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ledgerkit.errors import PROBLEM_JSON, ProblemDetail

_REF = {"$ref": "#/components/schemas/ProblemDetail"}
_BODY_METHODS = {"post", "put", "patch"}
_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _REF}}}


def install_openapi(app: FastAPI, *, public_paths: set[str]) -> None:
    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["ProblemDetail"] = ProblemDetail.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for path, ops in doc.get("paths", {}).items():
            for method, op in ops.items():
                if method not in _METHODS:
                    continue
                responses: dict[str, Any] = op.setdefault("responses", {})
                if "422" in responses or op.get("parameters") or op.get("requestBody"):
                    responses["422"] = _problem("Invalid request (problem+json with `errors`)")
                if method in _BODY_METHODS and "requestBody" in op:
                    responses.setdefault("400", _problem("Malformed JSON body"))
                    responses.setdefault("413", _problem("Request body too large"))
                if path not in public_paths and not path.startswith(("/webhooks/", "/embed/")):
                    responses.setdefault("401", _problem("Missing or unknown API key"))
                    responses.setdefault("403", _problem("The key lacks the needed scope"))
                responses.setdefault("503", _problem("Database unavailable; retry later"))
                responses.setdefault("500", _problem("Unexpected error (with request id)"))
        add_links(doc)
        app.openapi_schema = doc
        return doc

    app.openapi = custom_openapi  # type: ignore[method-assign]


# Which member of a created resource fills a path parameter named like the key, in order.
_ID_MEMBERS = ("id", "slug", "key", "version")


def _schema_props(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return set(schema.get("properties", {}))


def _created_props(doc: dict[str, Any], op: dict[str, Any]) -> set[str]:
    content = op.get("responses", {}).get("201", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return _schema_props(doc, schema)


def add_links(doc: dict[str, Any]) -> None:
    """Link every create (`POST` answering 201 with a JSON object) to the operations on
    the resource it made: a path under the create's own path (`/v1/epics` →
    `/v1/epics/{ref}/…`) or under `/v1/<last segment>` (`/v1/epics/{ref}/scores` →
    `/v1/scores/{score_id}`). The new parameter is filled from the created body (the member
    named like it, else `id`, `slug` or `key`), the create's own path parameters from the
    request."""
    paths: dict[str, Any] = doc.get("paths", {})
    for create_path, ops in paths.items():
        create = ops.get("post")
        if not create or "201" not in create.get("responses", {}):
            continue
        props = _created_props(doc, create)
        if not props:
            continue
        own_params = set(re.findall(r"{([^}]+)}", create_path))
        prefixes = {create_path, "/v1/" + create_path.rstrip("/").rsplit("/", 1)[1]}
        links: dict[str, Any] = {}
        for target_path, target_ops in paths.items():
            prefix = next((p for p in prefixes if target_path.startswith(p + "/{")), None)
            if prefix is None:
                continue
            new_param = target_path[len(prefix) + 2 :].split("}", 1)[0]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", new_param):
                continue
            rest_params = set(re.findall(r"{([^}]+)}", target_path)) - {new_param}
            if not rest_params <= own_params:
                continue  # a deeper parameter we cannot fill
            member = next((m for m in (new_param, *_ID_MEMBERS) if m in props), None)
            if member == "version" and new_param != "version":
                member = None  # a resource's version is no identifier of it
            if member is None:
                continue
            parameters = {new_param: f"$response.body#/{member}"}
            parameters.update({p: f"$request.path.{p}" for p in sorted(rest_params)})
            for method, target in target_ops.items():
                if method not in _METHODS or not target.get("operationId"):
                    continue
                name = f"{method.upper()}{target_path}".replace("/", "_").replace("{", "")
                links[name.replace("}", "")] = {
                    "operationId": target["operationId"],
                    "parameters": dict(parameters),  # own copy: no YAML anchors
                }
        if links:
            create["responses"]["201"]["links"] = links
