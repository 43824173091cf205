"""Signing webhook deliveries, and verifying them (for receivers written in Python, and for tests).

``Ongi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``

The timestamp is part of what is signed, so a receiver can refuse replays: accept a delivery only when
``|now - t| <= 300`` seconds and the HMAC matches (compared in constant time), and drop duplicates by
``Ongi-Event-Id``. During a secret rotation the header may carry several ``v1=`` values; any may match.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Ongi-Signature"
EVENT_ID_HEADER = "Ongi-Event-Id"
EVENT_TYPE_HEADER = "Ongi-Event-Type"
DELIVERY_ID_HEADER = "Ongi-Delivery-Id"
ATTEMPT_HEADER = "Ongi-Delivery-Attempt"
#: Replay window receivers should apply.
TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Ongi-Signature`` header value for ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={signature(secret, body, ts)}"


def verify(
    secret: str, body: bytes, header: str | None, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """Whether ``header`` is a valid, fresh signature of ``body`` under ``secret``."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp)
    return any(hmac.compare_digest(expected, c) for c in candidates)
