"""Reach: which records a caller reaches, as SQL filters and as ``get_*_or_404`` checks (``docs/access.md``).

* **filters**: SQL conditions that scope a query to the records a caller may reach, so that lists only
  ever hold reachable rows (``household_filter``, ``visit_filter``, ``case_filter``, ``report_filter``,
  ``facility_filter``, ``alert_filter``, ``task_filter``);
* **checks**: ``get_*_or_404`` load one record and raise 404 (never 403) when the caller may not see it;
* **partner reach**: the households a partner (or a private organization's client) reaches by assignment, and
  which of them a consent opens (:func:`partner_reach`).

An assignment is active while the assignee's team membership has not ended, the visit is not cancelled
or deleted, and the visit is open or finished less than :data:`FINISHED_GRACE` ago (time to write up
notes and checklists after the visit); a case membership while the case is open.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access.consent import consent_covers
from app.access.memo import memo_of
from app.access.redaction import PUBLIC_STAFF
from app.cases.models import Case, CaseMember
from app.core.db import utcnow
from app.core.errors import NotFound, Problem, not_found
from app.core.principal import PUBLIC_ONLY_SCOPES, OrgKind, Principal, Role
from app.households.models import Consent, ConsentPurpose, Household
from app.reports.models import CrisisReport
from app.visits.models import Facility, Visit, VisitAssignee, VisitStatus

#: How long after a visit finished its team still reaches the household (to write up notes, checklists).
FINISHED_GRACE = timedelta(days=14)

_OPEN_VISIT = (VisitStatus.scheduled, VisitStatus.in_progress)
_DONE_VISIT = (VisitStatus.completed, VisitStatus.no_contact, VisitStatus.refused)


def codes_clause(column: Any, codes: tuple[str, ...] | list[str]) -> ColumnElement[bool]:
    """``column`` lies in one of the administrative ``codes`` (prefix match: a district holds its dongs)."""
    if not codes:
        return false()
    return or_(*[column.like(f"{code}%") for code in codes])


def _active_visit_assignment(user_id: uuid.UUID, at: datetime) -> ColumnElement[bool]:
    return and_(
        col(VisitAssignee.user_id) == user_id,
        col(VisitAssignee.ended_at).is_(None),
        col(Visit.deleted_at).is_(None),
        col(Visit.household_id).is_not(None),
        or_(
            col(Visit.status).in_(_OPEN_VISIT),
            and_(
                col(Visit.status).in_(_DONE_VISIT),
                func.coalesce(col(Visit.checked_out_at), col(Visit.window_end)) >= at - FINISHED_GRACE,
            ),
        ),
    )


def _assigned_household_ids(principal: Principal, at: datetime) -> Any:
    """A subquery of the households of the caller's active assignments (visits and cases)."""
    by_visit = (
        select(col(Visit.household_id))
        .join(VisitAssignee, col(VisitAssignee.visit_id) == col(Visit.id))
        .where(_active_visit_assignment(principal.user_id, at))
    )
    by_case = (
        select(col(Case.household_id))
        .join(CaseMember, col(CaseMember.case_id) == col(Case.id))
        .where(
            col(CaseMember.user_id) == principal.user_id,
            col(CaseMember.ended_at).is_(None),
            col(Case.closed_at).is_(None),
            col(Case.deleted_at).is_(None),
        )
    )
    return by_visit.union(by_case)


@dataclass(frozen=True)
class PartnerReach:
    """What one partner reaches now: households by assignment, and which of them consent opens."""

    assigned: dict[uuid.UUID, set[str]]  # household id → purposes of the partner's active assignments
    consented: frozenset[uuid.UUID]

    def household_visible(self, household_id: uuid.UUID | None) -> bool:
        return household_id is not None and household_id in self.consented


async def partner_reach(session: AsyncSession, principal: Principal, at: datetime | None = None) -> PartnerReach:
    memo = memo_of(session) if at is None else None
    if memo is not None:
        key = ("reach", principal.user_id)
        if key not in memo:
            memo[key] = await _partner_reach(session, principal, utcnow())
        return memo[key]  # type: ignore[no-any-return]
    return await _partner_reach(session, principal, at or utcnow())


async def _partner_reach(session: AsyncSession, principal: Principal, at: datetime) -> PartnerReach:
    assigned: dict[uuid.UUID, set[str]] = {}
    visit_rows = await session.execute(
        select(col(Visit.household_id), col(Visit.purpose))
        .join(VisitAssignee, col(VisitAssignee.visit_id) == col(Visit.id))
        .where(_active_visit_assignment(principal.user_id, at))
    )
    for household_id, purpose in visit_rows:
        if household_id is None:  # excluded by the assignment filter; for the type
            continue
        assigned.setdefault(household_id, set()).add(str(purpose.value if hasattr(purpose, "value") else purpose))
    case_rows = await session.execute(
        select(col(Case.household_id))
        .join(CaseMember, col(CaseMember.case_id) == col(Case.id))
        .where(
            col(CaseMember.user_id) == principal.user_id,
            col(CaseMember.ended_at).is_(None),
            col(Case.closed_at).is_(None),
            col(Case.deleted_at).is_(None),
        )
    )
    for (household_id,) in case_rows:
        assigned.setdefault(household_id, set()).add(ConsentPurpose.case_management.value)
    consented: set[uuid.UUID] = set()
    if assigned:
        consents = (
            await session.execute(
                select(Consent).where(
                    col(Consent.household_id).in_(list(assigned)),
                    col(Consent.status) == "given",
                    col(Consent.withdrawn_at).is_(None),
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
    if principal.role != Role.integration or scope not in principal.scopes:
        return False
    return scope not in PUBLIC_ONLY_SCOPES or principal.org_kind == OrgKind.public


async def household_filter(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    live = col(Household.deleted_at).is_(None)
    if principal.role == Role.coordinator or _integration_has(principal, "households:read"):
        return and_(live, codes_clause(col(Household.dong_code), principal.jurisdiction))
    if principal.role == Role.planner:
        return and_(
            live,
            or_(
                codes_clause(col(Household.dong_code), principal.jurisdiction),
                col(Household.id).in_(_assigned_household_ids(principal, utcnow())),
            ),
        )
    if principal.consent_bound:
        reach = await partner_reach(session, principal)
        return and_(live, col(Household.id).in_(list(reach.consented))) if reach.consented else false()
    return false()


def _my_visit_ids(principal: Principal) -> Any:
    return select(col(VisitAssignee.visit_id)).where(
        col(VisitAssignee.user_id) == principal.user_id, col(VisitAssignee.ended_at).is_(None)
    )


def visit_filter(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.coordinator or _integration_has(principal, "visits:read"):
        return codes_clause(col(Visit.dong_code), principal.jurisdiction)
    if principal.role == Role.planner:
        return or_(
            codes_clause(col(Visit.dong_code), principal.jurisdiction), col(Visit.id).in_(_my_visit_ids(principal))
        )
    if principal.role == Role.partner:
        return col(Visit.id).in_(_my_visit_ids(principal))
    return false()


def case_filter(principal: Principal) -> ColumnElement[bool]:
    mine = select(col(CaseMember.case_id)).where(
        col(CaseMember.user_id) == principal.user_id, col(CaseMember.ended_at).is_(None)
    )
    if principal.role == Role.coordinator:
        return codes_clause(col(Case.dong_code), principal.jurisdiction)
    if principal.role == Role.planner:
        return or_(
            codes_clause(col(Case.dong_code), principal.jurisdiction),
            col(Case.id).in_(mine),
            col(Case.manager_id) == principal.user_id,
        )
    if principal.role == Role.partner:
        return col(Case.id).in_(mine)
    return false()


def report_filter(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.reporter:
        return col(CrisisReport.reporter_id) == principal.user_id
    if principal.role in PUBLIC_STAFF:
        return codes_clause(col(CrisisReport.dong_code), principal.jurisdiction)
    return false()


def facility_filter(principal: Principal) -> ColumnElement[bool]:
    """Facilities are institutions, not personal data: staff and admins see those of their area."""
    if principal.role in (Role.coordinator, Role.planner, Role.partner, Role.admin):
        return codes_clause(col(Facility.dong_code), principal.jurisdiction)
    return false()


def may_manage_facilities(principal: Principal) -> bool:
    return principal.role in (Role.coordinator, Role.admin)


# --- checks --------------------------------------------------------------------------------------------------


async def can_see_household(session: AsyncSession, principal: Principal, household: Household) -> bool:
    if household.deleted_at is not None:
        return False
    return await _may_see(session, principal, household.id, household.dong_code)


async def _may_see(session: AsyncSession, principal: Principal, household_id: uuid.UUID, dong_code: str | None) -> bool:
    """The household rule on an id and a dong. It asks the same questions of a household that does not
    exist (``dong_code`` None), so that a forbidden household and a missing one cost the same."""
    if principal.role == Role.coordinator or _integration_has(principal, "households:read"):
        return principal.in_jurisdiction(dong_code)
    if principal.role == Role.planner:
        if principal.in_jurisdiction(dong_code):
            return True
        found = await session.execute(
            select(col(Household.id)).where(
                col(Household.id) == household_id, col(Household.id).in_(_assigned_household_ids(principal, utcnow()))
            )
        )
        return found.first() is not None
    if principal.consent_bound:
        return (await partner_reach(session, principal)).household_visible(household_id)
    return False


class HouseholdNotFound(NotFound):
    """The 404 of :func:`get_household_or_404`: the same problem as any missing record, carrying what a caller
    that audits denied reads needs (``household_id`` asked for; ``exists``: whether such a household exists)."""

    def __init__(self, household_id: uuid.UUID, *, exists: bool) -> None:
        super().__init__()
        self.household_id, self.exists = household_id, exists


async def get_household_or_404(session: AsyncSession, principal: Principal, household_id: uuid.UUID) -> Household:
    """The household, or :class:`HouseholdNotFound` (410 ``household-merged`` for one merged away). Nothing is
    written here: a caller that audits the denied read (``app.households.lookup.readable_household``) records
    it from the exception.

    A household the caller may not see must be indistinguishable from one that does not exist (issue 13,
    item 11): both run the same access questions, and both answer the same problem with the same headers, so
    neither the answer nor its time tells them apart."""
    household = await session.get(Household, household_id)
    exists = household is not None
    live = household if household is not None and household.deleted_at is None else None
    merged = household if household is not None and household.merged_into_id is not None and live is None else None
    dong = live.dong_code if live is not None else merged.dong_code if merged is not None else None
    visible = await _may_see(session, principal, household_id, dong)
    if live is not None and visible:
        return live
    if merged is not None and visible:
        raise await merged_problem(session, merged)
    raise HouseholdNotFound(household_id, exists=exists)


async def merged_problem(session: AsyncSession, household: Household) -> Problem:
    """410 ``household-merged`` for a household merged into another, naming the survivor (``merged_into``: the
    end of the chain when the survivor was merged away in turn; app.households.merge)."""
    into = household.merged_into_id
    for _ in range(20):
        survivor = await session.get(Household, into) if into is not None else None
        if survivor is None or survivor.merged_into_id is None or survivor.deleted_at is None:
            break
        into = survivor.merged_into_id
    extra = {"merged_into": str(into), "household_id": str(household.id)}
    return Problem(410, "household-merged", "households.merged", extra=extra)


def _visible_visits(principal: Principal, which: ColumnElement[bool]) -> Any:
    return select(Visit).where(which, col(Visit.deleted_at).is_(None), visit_filter(principal))


async def _one_or_404(session: AsyncSession, stmt: Any) -> Any:
    """The one row ``stmt`` selects, or 404 (a record the caller may not see does not exist for them)."""
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise not_found()
    return found


async def _memo_fill(
    memo: dict[Any, Any],
    kind: str,
    principal: Principal,
    ids: list[uuid.UUID],
    load: Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, Any]]],
    default: Any,
) -> None:
    """Within a memo: the ``(kind, caller, id)`` entries of ``ids`` not held yet, ``load``-ed in one query per 500
    (``default`` for an id the load does not answer)."""
    wanted = [i for i in dict.fromkeys(ids) if (kind, principal.user_id, i) not in memo]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found = await load(chunk)
        for i in chunk:
            memo[(kind, principal.user_id, i)] = found.get(i, default)


def _on_team(principal: Principal) -> list[ColumnElement[bool]]:
    """The caller's current assignments (an ended assignment is no longer the team)."""
    return [col(VisitAssignee.user_id) == principal.user_id, col(VisitAssignee.ended_at).is_(None)]


async def prefetch_visits(session: AsyncSession, principal: Principal, visit_ids: list[uuid.UUID]) -> None:
    """Within a memo: load the visits of ``visit_ids`` the caller may see, in one query per 500."""
    memo = memo_of(session)
    if memo is None:
        return

    async def load(chunk: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        rows = await session.execute(_visible_visits(principal, col(Visit.id).in_(chunk)))
        return {visit.id: visit for visit in rows.scalars()}

    await _memo_fill(memo, "visit", principal, visit_ids, load, None)


async def get_visit_or_404(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    memo = memo_of(session)
    if memo is None:
        return await _one_or_404(session, _visible_visits(principal, col(Visit.id) == visit_id))  # type: ignore[no-any-return]
    await prefetch_visits(session, principal, [visit_id])
    visit = memo[("visit", principal.user_id, visit_id)]
    if visit is None:
        raise not_found()
    return visit  # type: ignore[no-any-return]


async def prefetch_visit_teams(session: AsyncSession, principal: Principal, visit_ids: list[uuid.UUID]) -> None:
    """Within a memo: whether the caller is on the team of each of ``visit_ids``, in one query per 500 (a push
    changes no team)."""
    memo = memo_of(session)
    if memo is None:
        return

    async def load(chunk: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        rows = await session.execute(
            select(col(VisitAssignee.visit_id)).where(col(VisitAssignee.visit_id).in_(chunk), *_on_team(principal))
        )
        return {visit_id: True for (visit_id,) in rows}

    await _memo_fill(memo, "team", principal, visit_ids, load, False)


async def is_visit_team_member(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> bool:
    memo = memo_of(session)
    if memo is not None:
        await prefetch_visit_teams(session, principal, [visit_id])
        return bool(memo[("team", principal.user_id, visit_id)])
    row = await session.execute(
        select(col(VisitAssignee.id)).where(col(VisitAssignee.visit_id) == visit_id, *_on_team(principal))
    )
    return row.first() is not None


async def visit_household_visible(
    session: AsyncSession, principal: Principal, visit: Visit, reach: PartnerReach | None = None
) -> bool:
    """Whether the caller, who sees ``visit``, may also see what identifies its household (``docs/access.md``)."""
    if visit.household_id is None:
        return True
    if principal.consent_bound:
        reach = reach or await partner_reach(session, principal)
        return reach.household_visible(visit.household_id)
    # Public staff reach every household of the visits they see (jurisdiction or own assignment).
    return principal.role in PUBLIC_STAFF or _integration_has(principal, "visits:read")


async def get_visit_with_household_or_404(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """A visit whose household the caller may also see (``docs/access.md``), or 404: for work that touches the
    household's data on the visit (notes, checklists, photos). A partner without consent sees only the restricted
    view."""
    visit = await get_visit_or_404(session, principal, visit_id)
    if not await visit_household_visible(session, principal, visit):
        raise not_found()
    return visit


async def get_case_or_404(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    stmt = select(Case).where(col(Case.id) == case_id, col(Case.deleted_at).is_(None), case_filter(principal))
    return await _one_or_404(session, stmt)  # type: ignore[no-any-return]


async def get_report_or_404(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> CrisisReport:
    stmt = select(CrisisReport).where(col(CrisisReport.id) == report_id, report_filter(principal))
    return await _one_or_404(session, stmt)  # type: ignore[no-any-return]


async def get_facility_or_404(session: AsyncSession, principal: Principal, facility_id: uuid.UUID) -> Facility:
    stmt = select(Facility).where(col(Facility.id) == facility_id, facility_filter(principal))
    return await _one_or_404(session, stmt)  # type: ignore[no-any-return]


def alert_filter(principal: Principal) -> ColumnElement[bool]:
    """Alerts (app.winter) belong to their organization: its coordinators and planners see them."""
    from app.winter.models import Alert

    if principal.role in PUBLIC_STAFF:
        return col(Alert.organization_id) == principal.organization_id
    return false()


def task_filter(principal: Principal) -> ColumnElement[bool]:
    """Tasks (app.winter): coordinators those of their jurisdiction, planners theirs and those of their
    jurisdiction (read), anyone else only their own."""
    from app.winter.models import Task

    mine = col(Task.assignee_id) == principal.user_id
    if principal.role in PUBLIC_STAFF:
        return or_(mine, codes_clause(col(Task.dong_code), principal.jurisdiction))
    if principal.role == Role.partner:
        return mine
    return false()


def may_complete_task(principal: Principal, task: Any) -> bool:
    """The assignee, or a coordinator of the task's area (recording what the worker reported by phone)."""
    return task.assignee_id == principal.user_id or (
        principal.role == Role.coordinator and principal.in_jurisdiction(task.dong_code)
    )


async def get_alert_or_404(session: AsyncSession, principal: Principal, alert_id: uuid.UUID) -> Any:
    from app.winter.models import Alert

    return await _one_or_404(session, select(Alert).where(col(Alert.id) == alert_id, alert_filter(principal)))


async def get_task_or_404(session: AsyncSession, principal: Principal, task_id: uuid.UUID) -> Any:
    from app.winter.models import Task

    return await _one_or_404(session, select(Task).where(col(Task.id) == task_id, task_filter(principal)))


def unrestricted() -> ColumnElement[bool]:
    return true()


# --- imports over REST (docs/integrations.md) ----------------------------------------------------------------


def may_import(principal: Principal) -> bool:
    """A coordinator, or an integration client holding ``households:import``, may upload a crisis list."""
    return principal.role == Role.coordinator or (
        principal.role == Role.integration and "households:import" in principal.scopes
    )


def may_see_import(principal: Principal, *, submitted_by_id: uuid.UUID | None, organization_id: uuid.UUID) -> bool:
    """An import job is seen by whoever submitted it and by the coordinators of the same organization."""
    if submitted_by_id == principal.user_id:
        return True
    return principal.role == Role.coordinator and organization_id == principal.organization_id
