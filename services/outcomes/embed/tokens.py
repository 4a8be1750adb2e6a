"""Signed embed tokens: `base64url(payload JSON) + "." + base64url(HMAC-SHA256(payload))`.

The token carries the filters and the expiry, so a portal can show exactly what the link's
creator chose and nothing else, without an API key in the browser. It is not encrypted (the
filters are not secret); it is signed, so any change to it is detected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

log = structlog.get_logger("ledger.embed")

TOKEN_VERSION = 1
FILTER_KEYS = ("stream", "team", "epic", "theme")

# Used only when EMBED_SECRET is unset: links then die with the process (and differ between
# replicas), which is fine for a laptop and wrong for production.
_PROCESS_SECRET = secrets.token_bytes(32)
_warned = False


class TokenMissing(Exception):
    pass


class TokenInvalid(Exception):
    """Malformed or not signed with our key (tampered)."""


class TokenExpired(Exception):
    def __init__(self, expired_at: int) -> None:
        super().__init__(f"expired at {expired_at}")
        self.expired_at = expired_at


@dataclass(frozen=True)
class EmbedClaims:
    filters: dict[str, str]
    expires_at: int  # unix seconds
    issued_at: int
    issued_by: str | None = None


def signing_key(configured: str) -> bytes:
    global _warned
    if configured:
        return configured.encode()
    if not _warned:
        _warned = True
        log.warning(
            "embed_secret_unset",
            detail="EMBED_SECRET is not set: embed links are signed with a random per-process "
            "key and stop working on restart; set EMBED_SECRET in production.",
        )
    return _PROCESS_SECRET


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def _mac(key: bytes, payload_part: str) -> bytes:
    return hmac.new(key, payload_part.encode("ascii"), hashlib.sha256).digest()


def sign(claims: EmbedClaims, key: bytes) -> str:
    payload: dict[str, Any] = {
        "v": TOKEN_VERSION,
        "f": {k: v for k, v in claims.filters.items() if v},
        "exp": claims.expires_at,
        "iat": claims.issued_at,
    }
    if claims.issued_by:
        payload["by"] = claims.issued_by
    part = _b64e(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
    return f"{part}.{_b64e(_mac(key, part))}"


def verify(token: str | None, key: bytes, *, now: int) -> EmbedClaims:
    """The token's claims, or TokenMissing / TokenInvalid (tampered) / TokenExpired.

    The signature is checked before anything in the payload is believed, so an edited
    expiry or filter is "tampered", never "expired"."""
    if not token:
        raise TokenMissing
    part, dot, sig = token.strip().partition(".")
    if not dot or not part or not sig:
        raise TokenInvalid("not a token")
    try:
        given = _b64d(sig)
    except (binascii.Error, ValueError) as exc:
        raise TokenInvalid("bad signature encoding") from exc
    if not part.isascii() or not hmac.compare_digest(given, _mac(key, part)):
        raise TokenInvalid("signature mismatch")
    try:
        payload = orjson.loads(_b64d(part))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise TokenInvalid("bad payload") from exc
    if not isinstance(payload, dict) or payload.get("v") != TOKEN_VERSION:
        raise TokenInvalid("unknown token version")
    exp, iat, raw_filters = payload.get("exp"), payload.get("iat"), payload.get("f", {})
    if not isinstance(exp, int) or not isinstance(iat, int) or not isinstance(raw_filters, dict):
        raise TokenInvalid("bad claims")
    if now >= exp:
        raise TokenExpired(exp)
    filters = {
        k: v for k, v in raw_filters.items() if k in FILTER_KEYS and isinstance(v, str) and v
    }
    by = payload.get("by")
    return EmbedClaims(filters, exp, iat, by if isinstance(by, str) else None)
