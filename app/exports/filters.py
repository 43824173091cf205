"""What an export is narrowed to (``from``, ``to``, a dong, a status, a campaign), as the query string says it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from app.core.errors import FieldInvalid
from app.core.times import rfc3339


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    dong_code: str | None = None
    status: str | None = None
    campaign_id: uuid.UUID | None = None

    def describe(self) -> dict[str, Any]:
        """For the audit trail: codes and bounds only."""
        return {
            k: (rfc3339(v) if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v)
            for k, v in (
                ("from", self.start),
                ("to", self.end),
                ("dong_code", self.dong_code),
                ("status", self.status),
                ("campaign_id", self.campaign_id),
            )
            if v is not None
        }


def parse_bound(value: str | None, *, field: str, end: bool, tz: Any) -> datetime | None:
    """A date (the whole day in the service's time zone; ``to`` inclusive) or an RFC 3339 date-time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=tz)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FieldInvalid.one(field, "exports.bad-bound") from exc
    if parsed.tzinfo is None:
        raise FieldInvalid.one(field, "exports.bad-bound")
    return parsed
