"""Outbound signatures: `X-Ledger-Signature: sha256=<hex HMAC-SHA256(secret, ts + "." + body)>`.

The timestamp is inside the signed bytes so a receiver can refuse replays older than a few
minutes; `verify` is what a receiver does (also used by the tests)."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header)
