"""Who may take work, and which work a coordinator reaches (``app.work``, ``app.winter``; ``docs/access.md``).

The one **eligible worker** rule: an active user of an active organization, of a role that takes work
(:data:`ASSIGNABLE`), whose area (their own codes, else their organization's) covers the dong. Reassignment
(``app.work.kinds``), the workload's list of workers and the duty planners of an alert (``app.winter.alerts``)
all ask :func:`may_take_work`; the alert's planners are those of them who are planners of a public organization.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_
from sqlmodel import col

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Principal, Role, codes_within, in_codes

#: Roles that may be given a visit (as app.visits.service.ASSIGNABLE_ROLES) or a task.
ASSIGNABLE = (Role.planner, Role.partner, Role.coordinator)


def worker_codes(user: User, org: Organization) -> list[str]:
    """The area a worker covers: their own codes, else their organization's."""
    return list(user.jurisdiction) if user.jurisdiction else list(org.jurisdiction or [])


def _overlap(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two sets of administrative codes share an area (a dong within a district counts)."""
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


def may_take_work(user: User, org: Organization, dong_code: str, *, roles: Sequence[Role] = ASSIGNABLE) -> bool:
    """The eligible worker rule: active, of an active organization, of one of ``roles``, covering ``dong_code``."""
    return user.active and org.active and user.role in roles and in_codes(dong_code, worker_codes(user, org))


def may_work_in(user: User, org: Organization, codes: Sequence[str]) -> bool:
    """The eligible worker rule for an area: eligible, and covering some of ``codes``."""
    return user.active and org.active and user.role in ASSIGNABLE and _overlap(worker_codes(user, org), codes)


def may_be_duty_planner(user: User, org: Organization, dong_code: str) -> bool:
    """An eligible worker who is a planner of a public organization (an alert's duty planner)."""
    return org.kind == OrgKind.public and may_take_work(user, org, dong_code, roles=(Role.planner,))


def is_public_staff(user: User, org: Organization) -> bool:
    """A coordinator or planner of a public organization (may manage a case, hold any work)."""
    return user.role in (Role.coordinator, Role.planner) and org.kind == OrgKind.public


def is_private_partner(user: User, org: Organization) -> bool:
    """A partner of a private organization (may be a case member, own a monitoring plan)."""
    return user.role == Role.partner and org.kind == OrgKind.private


# --- as SQL conditions ------------------------------------------------------------------------------------------


def assignable_users() -> ColumnElement[bool]:
    """Active users of a role that takes work (narrow further with :func:`may_take_work`)."""
    return and_(col(User.active).is_(True), col(User.role).in_(list(ASSIGNABLE)))


def active_planners() -> ColumnElement[bool]:
    """Active planners: who may check on a household for an alert as its visit's or case's worker."""
    return and_(col(User.role) == Role.planner, col(User.active).is_(True))


def duty_planner_candidates() -> ColumnElement[bool]:
    """Active planners of public organizations (joined with ``Organization``; :func:`may_be_duty_planner` decides)."""
    return and_(active_planners(), col(Organization.kind) == OrgKind.public)


# --- a coordinator's reach --------------------------------------------------------------------------------------


def coordinator_codes(principal: Principal) -> list[str]:
    """The codes a coordinator's workload and reassignment cover: their jurisdiction."""
    return list(principal.jurisdiction)


def may_pick_code(principal: Principal, code: str) -> bool:
    """Whether a coordinator may narrow a workload to ``code`` (a district or dong of theirs)."""
    return codes_within([code], list(principal.jurisdiction))


def reaches_worker(principal: Principal, user: User, org: Organization) -> bool:
    """Whether a worker's area overlaps the coordinator's jurisdiction (their work may be moved from there)."""
    return _overlap(worker_codes(user, org), list(principal.jurisdiction))
