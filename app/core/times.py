"""Times are written one way everywhere (DESIGN §7): RFC 3339 in UTC with ``Z`` (``2026-12-01T09:30:00Z``),
as pydantic writes them in REST. Code that builds JSON by hand (sync data, cursors, payloads) uses these."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime


def rfc3339(value: datetime | date | None) -> str | None:
    """A datetime as UTC with ``Z`` (naive ones are taken as UTC); a date as ``YYYY-MM-DD``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def json_default(value: object) -> str:
    """``default=`` of ``json.dumps``: UUIDs as strings, times by :func:`rfc3339`."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return rfc3339(value) or ""
    raise TypeError(f"{type(value).__name__} is not JSON")
