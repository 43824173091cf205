"""Times are written one way everywhere (docs/api.md): RFC 3339 in UTC with ``Z`` (``2026-12-01T09:30:00Z``),
as pydantic writes them in REST. Code that builds JSON by hand (sync data, cursors, payloads) uses these."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError


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


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _iso_day(value: object) -> object:
    """A day is ``YYYY-MM-DD`` (``format: date``): pydantic also reads a number, or a string of digits, as a Unix
    time (``0`` is 1970-01-01), which the document does not allow."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise PydanticCustomError("date_from_datetime_parsing", "Input should be a date (YYYY-MM-DD)")
    return value


def _rfc3339(value: object) -> object:
    """A time is RFC 3339 (``format: date-time``): not a number (a Unix time to pydantic) nor a bare day."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339_START.match(value):
        raise PydanticCustomError("datetime_parsing", "Input should be an RFC 3339 date-time")
    return value


#: ``date`` as the document writes it: ``YYYY-MM-DD``, nothing else (query parameters and bodies).
IsoDay = Annotated[date, BeforeValidator(_iso_day)]
Day = IsoDay
#: ``datetime`` as the document writes it: RFC 3339 text.
Instant = Annotated[datetime, BeforeValidator(_rfc3339)]
AwareInstant = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


# --- the service's calendar (its time zone, Asia/Seoul by default) ----------------------------------------------


def service_tz() -> ZoneInfo:
    from app.core.config import get_settings

    return get_settings().tz


def local_date(at: datetime, tz: ZoneInfo | None = None) -> date:
    """The calendar date of ``at`` in the service's time zone."""
    return at.astimezone(tz or service_tz()).date()


def local_today(now: datetime | None = None, tz: ZoneInfo | None = None) -> date:
    return local_date(now or datetime.now(UTC), tz)


def day_start_utc(day: date, tz: ZoneInfo | None = None) -> datetime:
    """Midnight of ``day`` in the service's time zone, as UTC."""
    return datetime.combine(day, time.min, tzinfo=tz or service_tz()).astimezone(UTC)


def local_at(day: date, hour: int, minute: int = 0, tz: ZoneInfo | None = None) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz or service_tz()).astimezone(UTC)


def period_bounds(starts_on: date, ends_on: date, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the local dates ``starts_on`` … ``ends_on`` inclusive."""
    return day_start_utc(starts_on, tz), day_start_utc(ends_on + timedelta(days=1), tz)
