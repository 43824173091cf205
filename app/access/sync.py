"""Who may sync a phone at all: field staff and coordinators with a registered device (docs/access.md).

What each device then receives is the scope declared by the synced entities (:mod:`app.sync.scope`), filtered by
the rest of this package.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.reach import PartnerReach, partner_reach
from app.core.principal import Principal, Role

SYNC_ROLES = (Role.planner, Role.partner, Role.coordinator)
#: The same roles as the strings a token carries (the pull's fast path reads them before any principal exists).
SYNC_ROLE_VALUES = frozenset(r.value for r in SYNC_ROLES)


def may_sync(principal: Principal) -> bool:
    return principal.role in SYNC_ROLES


def may_sync_role(role: str) -> bool:
    """:func:`may_sync` for the role string of a token, before a principal is built."""
    return role in SYNC_ROLE_VALUES


def holds_by_consent(principal: Principal) -> bool:
    """Whether a phone holds households only by assignment and consent (a partner's): its household records
    are opened by :func:`device_reach`, and what it holds of tasks and supports is redacted without consent."""
    return principal.role == Role.partner


async def device_reach(session: AsyncSession, principal: Principal, at: datetime) -> PartnerReach | None:
    """The partner reach a pull scopes a partner's phone by (None for public staff: their scope is their
    assignments and jurisdiction, with every household of them open)."""
    return await partner_reach(session, principal, at) if holds_by_consent(principal) else None
