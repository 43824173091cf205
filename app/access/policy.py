"""The one access policy (DESIGN §3.1, §3.2). REST, sync, uploads, downloads, exports and events ask it.

Two kinds of answers:

* **filters**: SQL conditions that scope a query to the records a caller may reach, so that lists only
  ever hold reachable rows (``household_filter``, ``visit_filter``, ``case_filter``, ``report_filter``);
* **checks**: ``get_*_or_404`` load one record and raise 404 (never 403) when the caller may not see it.

Rules, by role:

| role | households | visits | cases | crisis reports |
| --- | --- | --- | --- | --- |
| coordinator | jurisdiction | jurisdiction | jurisdiction | jurisdiction (triage) |
| planner | jurisdiction (REST) | jurisdiction + own assignments | jurisdiction + own | jurisdiction (read) |
| partner | assigned (visit or case) **and** consented | own assignments | own membership | — |
| reporter | — | — | — | own only |
| integration | jurisdiction, with ``households:read`` | jurisdiction, with ``visits:read`` | — | — |
| admin | — | — | — | — |

A partner's household access needs an active assignment *and* a consent record that is given, in force,
not withdrawn, addressed to their organization (or to all partners) and covering the purpose of that
assignment (the visit's purpose, or ``case_management`` for a case). Without it the partner still sees the
visit (time, dong, team) but nothing that identifies the household.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role
from app.auth.principal import Principal
from app.care.models import Case, CaseMember
from app.core.db import utcnow
from app.core.errors import not_found
from app.households.models import Consent, ConsentPurpose, Household
from app.reports.models import CrisisReport
from app.visits.models import Visit, VisitAssignee, VisitStatus

PUBLIC_STAFF = (Role.coordinator, Role.planner)


def codes_clause(column: Any, codes: tuple[str, ...] | list[str]) -> ColumnElement[bool]:
    """``column`` lies in one of the administrative ``codes`` (prefix match: a district holds its dongs)."""
    if not codes:
        return false()
    return or_(*[column.like(f"{code}%") for code in codes])


# --- consent -----------------------------------------------------------------------------------------------


def consent_in_force(consent: Consent, at: datetime) -> bool:
    return (
        consent.status == "given"
        and consent.withdrawn_at is None
        and consent.valid_from <= at
        and (consent.valid_until is None or consent.valid_until > at)
    )


def consent_covers(consent: Consent, organization_id: uuid.UUID, purpose: str, at: datetime) -> bool:
    return (
        consent_in_force(consent, at)
        and (consent.recipient_kind == "all_partners" or consent.recipient_organization_id == organization_id)
        and purpose in (consent.purposes or [])
    )


@dataclass(frozen=True)
class PartnerReach:
    """What one partner reaches now: households by assignment, and which of them consent opens."""

    assigned: dict[uuid.UUID, set[str]]  # household id → purposes of the partner's active assignments
    consented: frozenset[uuid.UUID]

    def household_visible(self, household_id: uuid.UUID | None) -> bool:
        return household_id is not None and household_id in self.consented


async def partner_reach(session: AsyncSession, principal: Principal, at: datetime | None = None) -> PartnerReach:
    at = at or utcnow()
    assigned: dict[uuid.UUID, set[str]] = {}
    visit_rows = await session.execute(
        select(Visit.household_id, Visit.purpose)
        .join(VisitAssignee, VisitAssignee.visit_id == Visit.id)
        .where(
            VisitAssignee.user_id == principal.user_id,
            VisitAssignee.ended_at.is_(None),
            Visit.deleted_at.is_(None),
            Visit.household_id.is_not(None),
            Visit.status != VisitStatus.cancelled,
        )
    )
    for household_id, purpose in visit_rows:
        assigned.setdefault(household_id, set()).add(str(purpose.value if hasattr(purpose, "value") else purpose))
    case_rows = await session.execute(
        select(Case.household_id)
        .join(CaseMember, CaseMember.case_id == Case.id)
        .where(
            CaseMember.user_id == principal.user_id,
            CaseMember.ended_at.is_(None),
            Case.closed_at.is_(None),
            Case.deleted_at.is_(None),
        )
    )
    for (household_id,) in case_rows:
        assigned.setdefault(household_id, set()).add(ConsentPurpose.case_management.value)
    consented: set[uuid.UUID] = set()
    if assigned:
        consents = (
            await session.execute(
                select(Consent).where(
                    Consent.household_id.in_(list(assigned)), Consent.status == "given", Consent.withdrawn_at.is_(None)
                )
            )
        ).scalars()
        for consent in consents:
            purposes = assigned.get(consent.household_id, set())
            if any(consent_covers(consent, principal.organization_id, p, at) for p in purposes):
                consented.add(consent.household_id)
    return PartnerReach(assigned=assigned, consented=frozenset(consented))


# --- filters -------------------------------------------------------------------------------------------------


def _integration_has(principal: Principal, scope: str) -> bool:
    return principal.role == Role.integration and scope in principal.scopes


async def household_filter(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    if principal.role in PUBLIC_STAFF or _integration_has(principal, "households:read"):
        return codes_clause(Household.dong_code, principal.jurisdiction)
    if principal.role == Role.partner:
        reach = await partner_reach(session, principal)
        return Household.id.in_(list(reach.consented)) if reach.consented else false()
    return false()


def _my_visit_ids(principal: Principal) -> Any:
    return select(VisitAssignee.visit_id).where(
        VisitAssignee.user_id == principal.user_id, VisitAssignee.ended_at.is_(None)
    )


def visit_filter(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.coordinator or _integration_has(principal, "visits:read"):
        return codes_clause(Visit.dong_code, principal.jurisdiction)
    if principal.role == Role.planner:
        return or_(codes_clause(Visit.dong_code, principal.jurisdiction), Visit.id.in_(_my_visit_ids(principal)))
    if principal.role == Role.partner:
        return Visit.id.in_(_my_visit_ids(principal))
    return false()


def case_filter(principal: Principal) -> ColumnElement[bool]:
    mine = select(CaseMember.case_id).where(CaseMember.user_id == principal.user_id, CaseMember.ended_at.is_(None))
    if principal.role == Role.coordinator:
        return codes_clause(Case.dong_code, principal.jurisdiction)
    if principal.role == Role.planner:
        return or_(
            codes_clause(Case.dong_code, principal.jurisdiction),
            Case.id.in_(mine),
            Case.manager_id == principal.user_id,
        )
    if principal.role == Role.partner:
        return Case.id.in_(mine)
    return false()


def report_filter(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.reporter:
        return CrisisReport.reporter_id == principal.user_id
    if principal.role in PUBLIC_STAFF:
        return codes_clause(CrisisReport.dong_code, principal.jurisdiction)
    return false()


# --- checks --------------------------------------------------------------------------------------------------


async def can_see_household(session: AsyncSession, principal: Principal, household: Household) -> bool:
    if household.deleted_at is not None:
        return False
    if principal.role in PUBLIC_STAFF or _integration_has(principal, "households:read"):
        return principal.in_jurisdiction(household.dong_code)
    if principal.role == Role.partner:
        return (await partner_reach(session, principal)).household_visible(household.id)
    return False


async def get_household_or_404(session: AsyncSession, principal: Principal, household_id: uuid.UUID) -> Household:
    household = await session.get(Household, household_id)
    if household is None or not await can_see_household(session, principal, household):
        raise not_found()
    return household


async def get_visit_or_404(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    visit = (
        await session.execute(
            select(Visit).where(Visit.id == visit_id, Visit.deleted_at.is_(None), visit_filter(principal))
        )
    ).scalar_one_or_none()
    if visit is None:
        raise not_found()
    return visit


async def is_visit_team_member(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> bool:
    row = await session.execute(
        select(VisitAssignee.id).where(
            VisitAssignee.visit_id == visit_id,
            VisitAssignee.user_id == principal.user_id,
            VisitAssignee.ended_at.is_(None),
        )
    )
    return row.first() is not None


async def get_case_or_404(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    case = (
        await session.execute(select(Case).where(Case.id == case_id, Case.deleted_at.is_(None), case_filter(principal)))
    ).scalar_one_or_none()
    if case is None:
        raise not_found()
    return case


async def get_report_or_404(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> CrisisReport:
    report = (
        await session.execute(select(CrisisReport).where(CrisisReport.id == report_id, report_filter(principal)))
    ).scalar_one_or_none()
    if report is None:
        raise not_found()
    return report


def unrestricted() -> ColumnElement[bool]:
    return true()
