"""What a caller may do with a visit they see (``docs/access.md``, visits).

Which visits a caller sees is :func:`app.access.policy.visit_filter` and
:func:`~app.access.policy.get_visit_or_404`, and whether they also see the visit's household is
:func:`~app.access.policy.visit_household_visible`. This module holds what the visits domain asks beyond that:
who may be on a team, where a visit may be scheduled, who changes a visit's status and who cancels, and
what a transition's history shows. It writes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import PUBLIC_STAFF, is_visit_team_member
from app.core.principal import Principal, Role, in_codes

#: Roles that may be on a visit's team.
ASSIGNABLE_ROLES = (Role.planner, Role.partner, Role.coordinator)


def may_join_team(user: Any, organization: Any, dong_code: str) -> bool:
    """Whether ``user`` (of ``organization``) may be on the team of a visit in ``dong_code``: an active planner,
    partner or coordinator of an active organization whose jurisdiction covers the dong."""
    return bool(
        user.active
        and organization.active
        and user.role in ASSIGNABLE_ROLES
        and in_codes(dong_code, list(organization.jurisdiction or []))
    )


def may_schedule_in(principal: Principal, dong_code: str | None) -> bool:
    """A visit is scheduled only to a household or facility of the caller's jurisdiction."""
    return principal.in_jurisdiction(dong_code)


async def may_transition(session: AsyncSession, principal: Principal, visit: Any) -> bool:
    """Team members, and public staff of the visit's jurisdiction, change a visit's status."""
    if principal.role in PUBLIC_STAFF and principal.in_jurisdiction(visit.dong_code):
        return True
    return await is_visit_team_member(session, principal, visit.id)


def may_cancel(principal: Principal) -> bool:
    """Only public staff cancel a visit."""
    return principal.role in PUBLIC_STAFF


def sees_transition_locations(principal: Principal) -> bool:
    """Where a transition happened is where the household lives: public staff only."""
    return principal.role in PUBLIC_STAFF


def needs_partner_reach(principal: Principal) -> bool:
    """A partner's visit list is cut by their partner reach (a household no consent opens stays hidden)."""
    return principal.role == Role.partner
