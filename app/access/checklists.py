"""Who reads and writes checklist responses (``docs/access.md``).

Coordinators, planners and partners read the responses of the visits they see; a partner also needs the
household's consent (a checklist of a home identifies the household; a facility inspection identifies
none). Writing needs the caller on the visit's team (:func:`app.access.policy.is_visit_team_member`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import partner_reach
from app.core.principal import Principal, Role
from app.visits.models import Visit

#: Roles that may ever read checklist responses (and write them, when on the visit's team).
RESPONSE_ROLES = (Role.coordinator, Role.planner, Role.partner)


def may_read_responses(principal: Principal) -> bool:
    return principal.role in RESPONSE_ROLES


async def responses_visible(session: AsyncSession, principal: Principal, visit: Visit) -> bool:
    """Whether the responses of a visit the caller sees are open to them (a partner: consent)."""
    if principal.role != Role.partner or visit.household_id is None:
        return True
    return (await partner_reach(session, principal)).household_visible(visit.household_id)
