"""Who opens and changes integrated cases, who may manage or join one, and what a partner reads of it
(``docs/access.md``). Which cases a caller reaches is :func:`app.access.reach.case_filter`.

* coordinators and planners open cases (for households they may see);
* the case manager and the jurisdiction's coordinators change a case (stage, goals, team);
* a manager is a coordinator or planner of a public organization whose jurisdiction covers the case;
* team members are such public staff, or partners of private organizations;
* a partner without a consent covering their organization for case management reads no goals nor summary.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.reach import partner_reach
from app.auth.models import Organization, User
from app.cases.models import Case
from app.core.principal import OrgKind, Principal, Role, in_codes

CASE_CREATORS = (Role.coordinator, Role.planner)


def user_jurisdiction(user: User, org: Organization) -> list[str]:
    """A user's own jurisdiction, else their organization's."""
    return list(user.jurisdiction) if user.jurisdiction else list(org.jurisdiction or [])


def may_open_case(principal: Principal) -> bool:
    return principal.role in CASE_CREATORS


def may_manage_case(principal: Principal, case: Case) -> bool:
    """The jurisdiction's coordinators, and the case's manager (a coordinator or planner)."""
    if principal.role == Role.coordinator and principal.in_jurisdiction(case.dong_code):
        return True
    return principal.role in CASE_CREATORS and case.manager_id == principal.user_id


def public_staff_covering(user: User, org: Organization, dong_code: str) -> bool:
    """A coordinator or planner of a public organization whose jurisdiction covers ``dong_code`` (who may
    manage a case there)."""
    return (
        user.role in (Role.coordinator, Role.planner)
        and org.kind == OrgKind.public
        and in_codes(dong_code, user_jurisdiction(user, org))
    )


def may_join_case(user: User, org: Organization, dong_code: str) -> bool:
    """Public staff covering the case's dong, or a partner of a private organization."""
    return public_staff_covering(user, org, dong_code) or (user.role == Role.partner and org.kind == OrgKind.private)


async def redacted_cases(session: AsyncSession, principal: Principal, cases: Sequence[Case]) -> set[uuid.UUID]:
    """Cases whose goals and summary the caller may not read (a partner without consent for the household)."""
    if principal.role != Role.partner:
        return set()
    reach = await partner_reach(session, principal)
    return {c.id for c in cases if c.household_id not in reach.consented}
