"""Small helpers shared by the care services."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization, OrgKind, Role, User
from app.auth.principal import Principal, in_codes
from app.core.config import get_settings
from app.core.errors import Problem
from app.core.i18n import t


def service_tz() -> ZoneInfo:
    return get_settings().tz


def local_date(at: datetime, tz: ZoneInfo | None = None) -> date:
    """The calendar date of ``at`` in the service's time zone (Asia/Seoul by default)."""
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


def field_problem(field: str, message_key: str, **params: Any) -> Problem:
    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": 1},
        extra={"errors": [{"field": field, "code": "value_error", "message": t(message_key, **params)}]},
    )


def forbid_roles(*roles: Role) -> Problem:
    return Problem(403, "forbidden", "detail.role-forbidden", params={"roles": ", ".join(r.value for r in roles)})


def districts_of(codes: tuple[str, ...] | list[str]) -> set[str]:
    return {c[:5] for c in codes if len(c) >= 5}


def intersect_codes(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> list[str]:
    """The administrative areas that lie in both sets (a dong within a district is the dong)."""
    out: set[str] = set()
    for x in a:
        for y in b:
            if x.startswith(y):
                out.add(x)
            elif y.startswith(x):
                out.add(y)
    return sorted(out)


def codes_overlap(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> bool:
    return bool(intersect_codes(a, b))


async def user_with_org(session: AsyncSession, user_id: uuid.UUID) -> tuple[User, Organization] | None:
    row = (
        await session.execute(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == user_id, User.active.is_(True), Organization.active.is_(True))
        )
    ).first()
    return (row[0], row[1]) if row else None


def user_jurisdiction(user: User, org: Organization) -> list[str]:
    return list(user.jurisdiction) if user.jurisdiction else list(org.jurisdiction or [])


def public_staff_covering(user: User, org: Organization, dong_code: str) -> bool:
    """A coordinator or planner of a public organization whose jurisdiction covers ``dong_code``."""
    return (
        user.role in (Role.coordinator, Role.planner)
        and org.kind == OrgKind.public
        and in_codes(dong_code, user_jurisdiction(user, org))
    )


def is_public_staff(principal: Principal) -> bool:
    return principal.role in (Role.coordinator, Role.planner)


def advance_household(household: Any, to: Any) -> bool:
    """Move a household forward along its status flow (identified → … → supported → monitoring) when care
    reaches a later step: a support approved or provided, a monitoring plan started. Never backwards, and a
    closed household stays closed (a new signal reopens it, DESIGN §2)."""
    from app.core.db import utcnow
    from app.households.models import HouseholdStatus
    from app.households.service import FLOW

    current = HouseholdStatus(household.status)
    target = HouseholdStatus(to)
    if current == HouseholdStatus.closed or FLOW.index(target) <= FLOW.index(current):
        return False
    household.status = target
    household.status_changed_at = utcnow()
    return True
