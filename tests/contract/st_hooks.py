"""Schemathesis hooks for the contract tests (loaded with SCHEMATHESIS_HOOKS).

A custom check: every error response (4xx/5xx) is RFC 9457 problem+json with the members
our contract promises (`type`, `title`, `status` equal to the HTTP status, `detail`), except
the embed page, whose errors are HTML for the person looking at the iframe.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

PROBLEM_JSON = "application/problem+json"


@schemathesis.check
def problem_json_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code < 400:
        return None
    if case.path.startswith("/embed/"):
        # The embed page is shown to people inside a portal's iframe: its errors are small
        # HTML pages by design (documented as text/html in the contract).
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if not str(content_type).startswith(PROBLEM_JSON):
        raise AssertionError(
            f"{response.status_code} answered with content type {content_type!r}, "
            f"not {PROBLEM_JSON}"
        )
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"problem body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"problem body is not an object: {body!r}")
    missing = [m for m in ("type", "title", "status", "detail") if m not in body]
    if missing:
        raise AssertionError(f"problem body lacks {missing}: {body!r}")
    if body["status"] != response.status_code:
        raise AssertionError(f"problem status {body['status']} != HTTP {response.status_code}")
    for member in ("type", "title", "detail"):
        if not isinstance(body[member], str) or not body[member]:
            raise AssertionError(f"problem {member} must be a non-empty string: {body!r}")
    return None
