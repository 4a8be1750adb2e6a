"""Make the generated OpenAPI document tell the whole truth about errors.

FastAPI documents only 200 and 422 (as plain JSON). Every operation here can also answer
problem+json for 401/403 (authenticated routes), 400/413 (routes with a body), 503 (the
database is down) and 500; 422 is problem+json too. Documenting them lets contract tests
(schemathesis) and client generators rely on the document.
"""

from __future__ import annotations

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
        app.openapi_schema = doc
        return doc

    app.openapi = custom_openapi  # type: ignore[method-assign]
