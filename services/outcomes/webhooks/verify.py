"""Authenticity of deliveries: Jira's HMAC signature, ADO's basic auth / shared header.

All comparisons are constant-time (`hmac.compare_digest`) so timing leaks nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from outcomes.webhooks.config import WebhookConfig
from outcomes.webhooks.errors import WebhookUnauthorized

# WebSub `method=signature`; Atlassian uses sha256 today and warns the method may change.
_METHODS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def sign_jira(secret: str, body: bytes, method: str = "sha256") -> str:
    return f"{method}=" + hmac.new(secret.encode(), body, _METHODS[method]).hexdigest()


def verify_jira(config: WebhookConfig, headers: dict[str, str], body: bytes) -> None:
    """With a secret configured, `X-Hub-Signature` must be the HMAC of the raw body."""
    if not config.jira_secret:
        return
    header = headers.get("x-hub-signature", "").strip()
    if not header:
        raise WebhookUnauthorized(
            "The delivery has no X-Hub-Signature header, and a Jira webhook secret is set."
        )
    method, sep, given = header.partition("=")
    digest = _METHODS.get(method.strip().lower())
    if not sep or digest is None:
        raise WebhookUnauthorized(
            "X-Hub-Signature must look like sha256=<hex> (methods: sha256, sha384, sha512)."
        )
    expected = hmac.new(config.jira_secret.encode(), body, digest).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise WebhookUnauthorized("X-Hub-Signature does not match the body.")


def verify_ado(config: WebhookConfig, headers: dict[str, str]) -> None:
    """Every configured mechanism must pass: basic auth (ADO_BASIC_USER/PASSWORD) and/or the
    shared-secret header (ADO_HEADER_NAME: ADO_HEADER_SECRET). ADO signs nothing."""
    if config.ado_basic_user or config.ado_basic_password:
        user, password = _basic(headers.get("authorization", ""))
        ok_user = hmac.compare_digest(user.encode(), config.ado_basic_user.encode())
        ok_pass = hmac.compare_digest(password.encode(), config.ado_basic_password.encode())
        if not (ok_user and ok_pass):
            raise WebhookUnauthorized(
                "Basic authentication failed: set the username and password on the "
                "Azure DevOps subscription.",
                headers={"WWW-Authenticate": 'Basic realm="outcome-ledger webhooks"'},
            )
    if config.ado_header_secret:
        given = headers.get(config.ado_header_name.lower(), "")
        if not hmac.compare_digest(given.strip().encode(), config.ado_header_secret.encode()):
            raise WebhookUnauthorized(
                f"The {config.ado_header_name} header is missing or wrong: add "
                f"'{config.ado_header_name}:<secret>' to the subscription's HTTP headers."
            )


def _basic(header: str) -> tuple[str, str]:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return "", "\x00"  # never equal to a configured password
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", "\x00"
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else ("", "\x00")
