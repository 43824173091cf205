"""The one view of a household as it leaves the server, over REST and in a sync pull alike
(``docs/access.md``, redaction).

:func:`household_views` renders households for a caller, redacted by :mod:`app.access`: registration numbers
never (only by the audited reveal, :mod:`app.households.sensitive`); income, benefit history and health notes
to coordinators and planners, on a single household (``include_sensitive``); a partner's consent summary lists
only the consents that cover them. :func:`audited_views` is the same, with the read audited (one event per
household), for every REST answer that carries a household's personal data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import policy
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.security import Security
from app.households.clocks import deadline_fields
from app.households.consent import consent_summary
from app.households.matching import security_or_default
from app.households.models import Household
from app.households.repository import HouseholdRepository
from app.households.schemas import HouseholdPublic, MemberPublic, SensitivePublic
from app.households.sensitive import visible_sensitive
from app.journal import audit


async def household_views(
    session: AsyncSession,
    principal: Principal,
    households: list[Household],
    *,
    security: Security | None = None,
    include_sensitive: bool = False,
) -> list[HouseholdPublic]:
    """Every household that leaves the server goes through here, redacted for the caller's role
    (:func:`app.access.policy.sensitive_kinds_visible`)."""
    if not households:
        return []
    now = utcnow()
    ids = [h.id for h in households]
    consents = await HouseholdRepository(session).consents_by_household(ids)
    kinds = policy.sensitive_kinds_visible(principal) if include_sensitive else frozenset()
    sensitive: dict[Any, SensitivePublic] = {}
    if kinds:
        sensitive = await visible_sensitive(session, security_or_default(security), ids, kinds)
    views = []
    for h in households:
        views.append(
            HouseholdPublic(
                id=h.id,
                version=h.version,
                district_code=h.district_code,
                dong_code=h.dong_code,
                address=h.address,
                address_detail=h.address_detail,
                head_name=h.head_name,
                contact_phone=h.contact_phone,
                members=[MemberPublic.model_validate(m) for m in h.members or []],
                tags=list(h.tags or []),
                living_situation=h.living_situation,
                risk_level=h.risk_level,
                priority=h.priority,
                status=h.status,
                status_changed_at=h.status_changed_at,
                recurrence_at=h.recurrence_at,
                recurrence_count=h.recurrence_count,
                coordinator_id=h.coordinator_id,
                assessed_risk=h.assessed_risk,
                assessed_at=h.assessed_at,
                consent=consent_summary(consents.get(h.id, []), principal, now),
                contact_failures=h.contact_failures or 0,
                unreachable=h.unreachable_at is not None,
                unreachable_at=h.unreachable_at,
                next_contact_step=h.next_contact_step,  # type: ignore[arg-type]
                sensitive=(sensitive.get(h.id, SensitivePublic()) if kinds else None),
                **deadline_fields(h, now),  # the intake's legal clock (app.households.clocks)
                created_at=h.created_at,
                updated_at=h.updated_at,
            )
        )
    return views


async def audited_views(
    session: AsyncSession,
    principal: Principal,
    households: list[Household],
    *,
    security: Security | None = None,
    include_sensitive: bool = False,
    via: str | None = None,
) -> list[HouseholdPublic]:
    """:func:`household_views`, and one ``household.read`` audit event per household (``via``: which list)."""
    views = await household_views(
        session, principal, households, security=security, include_sensitive=include_sensitive
    )
    await audit.record_many(
        session,
        principal,
        "household.read",
        entity="household",
        items=[(h.id, h.id) for h in households],
        details={"via": via} if via else None,
    )
    return views
