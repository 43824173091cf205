"""Signing webhook deliveries, and verifying them (for receivers written in Python, and for tests).

Every delivery carries two signatures of the same body:

- **Standard Webhooks** (https://www.standardwebhooks.com/, what off-the-shelf verifiers accept, e.g. the
  ``standardwebhooks`` package): ``webhook-id`` (the delivery's event id, stable across retries),
  ``webhook-timestamp`` (unix seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>``,
  where the key is the secret after its ``whsec_`` prefix, base64-decoded. Secrets are ``whsec_`` + base64 of 32
  random bytes.
- the older ``Ongi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`` (the whole secret
  string as the key), kept for receivers written against it.

The timestamp is part of what is signed, so a receiver can refuse replays: accept a delivery only when
``|now - t| <= 300`` seconds and the HMAC matches (compared in constant time), and drop duplicates by
``Ongi-Event-Id``. During a secret rotation the header may carry several ``v1=`` values; any may match.
"""

from __future__ import annotations

import base64
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
#: Standard Webhooks header names.
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes: the form Standard Webhooks verifiers decode."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _standard_key(secret: str) -> bytes:
    # Decoded as the reference verifiers do (padding added, non-alphabet characters skipped), so that secrets
    # made before the switch to standard base64 verify there too.
    body = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(body + "==")


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) of ``body``."""
    mac = hmac.new(_standard_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def standard_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        WEBHOOK_ID_HEADER: msg_id,
        WEBHOOK_TIMESTAMP_HEADER: str(ts),
        WEBHOOK_SIGNATURE_HEADER: standard_signature(secret, msg_id, ts, body),
    }


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
