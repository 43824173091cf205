"""The household a route works on, with the denied read audited (``docs/access.md``, "Audit").

:func:`app.access.policy.get_household_or_404` decides whether the caller may see the household and writes
nothing; here a denied read (404, a household missing or hidden alike) leaves its audit row (result
``denied``, ``entity_id`` the id asked for, ``household_id`` set when that household exists), kept although the
request then fails. Use it only where nothing else was written before the lookup.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import policy
from app.core.principal import Principal
from app.core.uow import keep_so_far
from app.households.models import Household
from app.journal import audit


async def readable_household(session: AsyncSession, principal: Principal, household_id: uuid.UUID) -> Household:
    """The household the caller may see, or 404 with the denied read audited (410 for one merged away)."""
    try:
        return await policy.get_household_or_404(session, principal, household_id)
    except policy.HouseholdNotFound as denied:
        await audit.record(
            session,
            principal,
            "household.read",
            entity="household",
            entity_id=household_id,
            household_id=household_id if denied.exists else None,
            result="denied",
        )
        await keep_so_far(session)  # the denied read keeps its audit row although the request fails
        raise
