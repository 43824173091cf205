"""Who sees and manages monitoring plans, and who may own one (``docs/access.md``).

Coordinators and planners see and manage the plans of their jurisdiction (planners also the plans they own);
a partner sees the plans they own. A plan's owner makes the follow-up visits: public staff of the household's
jurisdiction, or a partner of a private organization working there.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_
from sqlmodel import col

from app.access.cases import user_jurisdiction
from app.access.reach import codes_clause
from app.auth.models import Organization, User
from app.core.principal import OrgKind, Principal, Role, in_codes
from app.monitoring.models import MonitoringPlan

PLAN_MANAGERS = (Role.coordinator, Role.planner)


def monitoring_filter(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.coordinator:
        return codes_clause(MonitoringPlan.dong_code, principal.jurisdiction)
    if principal.role == Role.planner:
        return or_(
            codes_clause(MonitoringPlan.dong_code, principal.jurisdiction),
            col(MonitoringPlan.owner_id) == principal.user_id,
        )
    if principal.role == Role.partner:
        return col(MonitoringPlan.owner_id) == principal.user_id
    return false()


def plans_in_jurisdiction(principal: Principal) -> ColumnElement[bool]:
    """The plans of the caller's jurisdiction (the due list and ``POST /v1/monitoring/run`` of a coordinator)."""
    return codes_clause(MonitoringPlan.dong_code, principal.jurisdiction)


def may_manage_plans(principal: Principal) -> bool:
    return principal.role in PLAN_MANAGERS


def may_own_plan(user: User, org: Organization, dong_code: str) -> bool:
    """Whether ``user`` can make follow-up visits in ``dong_code``: public staff of the jurisdiction or a
    partner of a private organization working there."""
    if user.role in (Role.coordinator, Role.planner):
        return org.kind == OrgKind.public and in_codes(dong_code, user_jurisdiction(user, org))
    if user.role == Role.partner:
        return org.kind == OrgKind.private and in_codes(dong_code, user_jurisdiction(user, org))
    return False
