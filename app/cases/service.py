"""Integrated case management (``docs/care.md``).

Stages ``intake → assessment → conference → planning → service → monitoring → closed → follow_up``.
Allowed moves (:data:`app.cases.models.CASE_TRANSITIONS`): forward one step; back one step from conference,
planning, service and monitoring (re-assess, re-convene, re-plan, resume services); ``closed`` from any open
stage; ``follow_up`` after closure and back to ``closed`` when the follow-up ends. Any other move answers
409 ``case-illegal-transition`` with the allowed stages.

Due dates, in the service time zone (Asia/Seoul): the assessment within 10 days of intake; the conference
5 days after the assessment; the plan 15 days after the conference; and intake to plan 30 days at most
(the plan's due date is the earlier of the two). A step is done when the case first moves past it
(assessment → conference, conference → planning, planning → service). A step not done by the day after
its due date is overdue; ``next_due_on`` holds the due date of the next step not done, which is what
``?overdue=true`` filters on.

Who: cases are created by coordinators and planners who may see the household; the case manager is a
coordinator or planner whose jurisdiction covers it; team members are public staff of the jurisdiction or
partners of private organizations. The manager and the jurisdiction's coordinators change a case (stage,
goals, team). Partners see the cases they are members of; without a consent covering their organization
for case management, goals and summary are hidden. :mod:`app.access.cases` decides who.

Closing ends the partners' memberships (the access policy counts only open cases and active memberships)
and starts a monitoring plan for the household (owner: the manager; ``schedule_monitoring: false`` skips).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import cases as access
from app.access import policy
from app.cases.models import CASE_CLOSED_STAGES, CASE_TRANSITIONS, Case, CaseMember, CaseStage, CaseStageChange
from app.cases.repository import CaseRepository
from app.cases.schemas import (
    CaseCreate,
    CaseDue,
    CaseMemberCreate,
    CaseMemberPublic,
    CasePublic,
    CaseTransition,
    CaseUpdate,
    Goal,
    StepDue,
)
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_problem
from app.core.principal import Principal
from app.core.times import local_date, local_today
from app.households.clocks import end_of_day, state_of
from app.households.models import Household
from app.journal import audit
from app.monitoring.models import MonitoringSource
from app.monitoring.repository import user_with_org
from app.monitoring.service import ensure_plan

ASSESSMENT_DAYS = 10
CONFERENCE_DAYS = 5
PLAN_DAYS = 15
INTAKE_TO_PLAN_DAYS = 30


# --- due dates ------------------------------------------------------------------------------------------------


def recompute_due(case: Case) -> None:
    """Set the due dates and ``next_due_on`` from the opening date and the steps done so far."""
    opened = local_date(case.opened_at)
    limit = opened + timedelta(days=INTAKE_TO_PLAN_DAYS)
    case.assessment_due_on = opened + timedelta(days=ASSESSMENT_DAYS)
    assessed = local_date(case.assessment_done_at) if case.assessment_done_at else case.assessment_due_on
    case.conference_due_on = assessed + timedelta(days=CONFERENCE_DAYS)
    conferred = local_date(case.conference_done_at) if case.conference_done_at else case.conference_due_on
    case.plan_due_on = min(conferred + timedelta(days=PLAN_DAYS), limit)
    if case.closed_at is not None or case.stage in CASE_CLOSED_STAGES:
        case.next_due_on = None
    elif case.assessment_done_at is None:
        case.next_due_on = case.assessment_due_on
    elif case.conference_done_at is None:
        case.next_due_on = case.conference_due_on
    elif case.plan_done_at is None:
        case.next_due_on = case.plan_due_on
    else:
        case.next_due_on = None


def _step(due: date | None, done_at: object, today: date, closed: bool) -> StepDue:
    done_on = local_date(done_at) if done_at is not None else None  # type: ignore[arg-type]
    overdue = done_on is None and not closed and due is not None and today > due
    return StepDue(due_on=due, done_on=done_on, overdue=overdue)


def due_of(case: Case, today: date) -> CaseDue:
    closed = case.closed_at is not None
    return CaseDue(
        assessment=_step(case.assessment_due_on, case.assessment_done_at, today, closed),
        conference=_step(case.conference_due_on, case.conference_done_at, today, closed),
        plan=_step(case.plan_due_on, case.plan_done_at, today, closed),
    )


# --- reading --------------------------------------------------------------------------------------------------


async def list_page(
    session: AsyncSession,
    principal: Principal,
    *,
    manager: str | None,
    limit: int,
    cursor: str | None,
    **filters: object,
) -> tuple[list[Case], str | None]:
    """One page of the cases the caller reaches (``manager``: ``me`` or a user id; ``filters``:
    :meth:`CaseRepository.listing`'s)."""
    manager_id = None
    if manager is not None:
        if manager == "me":
            manager_id = principal.user_id
        else:
            try:
                manager_id = uuid.UUID(manager)
            except ValueError:
                raise field_problem("query.manager", "care.unknown-user") from None
    repo = CaseRepository(session)
    stmt = repo.listing(policy.case_filter(principal), local_today(), manager_id=manager_id, **filters)  # type: ignore[arg-type]
    return await repo.page(stmt, order=(Case.created_at, Case.id), limit=limit, cursor=cursor)


async def history_page(
    session: AsyncSession, case: Case, *, limit: int, cursor: str | None
) -> tuple[list[CaseStageChange], str | None]:
    """A case's stage history, oldest first."""
    repo = CaseRepository(session)
    return await repo.page(
        repo.history(case.id), order=(CaseStageChange.at, CaseStageChange.id), limit=limit, cursor=cursor
    )


async def members_of(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CaseMemberPublic]]:
    if not case_ids:
        return {}
    rows = await CaseRepository(session).members_with_people(case_ids)
    out: dict[uuid.UUID, list[CaseMemberPublic]] = {}
    for member, user, org in rows:
        out.setdefault(member.case_id, []).append(
            CaseMemberPublic(
                user_id=member.user_id,
                organization_id=member.organization_id,
                display_name=user.display_name,
                role=user.role.value,
                organization_kind=org.kind.value,
                role_note=member.role_note,
                joined_at=member.created_at,
                ended_at=member.ended_at,
            )
        )
    return out


def case_due_at(case: Case) -> datetime | None:
    """An open case is due at the end of its next step's due date (docs/winter.md)."""
    if case.next_due_on is None or case.closed_at is not None:
        return None
    return end_of_day(case.next_due_on)


def case_deadline_fields(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """``due_at`` and ``deadline_state`` of a case as REST and sync show them."""
    due = case_due_at(case)
    return {"due_at": due, "deadline_state": state_of(due, now or utcnow(), "case.stage")}


def to_public(
    principal: Principal, case: Case, members: list[CaseMemberPublic], today: date, redacted: bool
) -> CasePublic:
    due = due_of(case, today)
    allowed = list(CASE_TRANSITIONS[case.stage]) if access.may_manage_case(principal, case) else []
    return CasePublic(
        id=case.id,
        version=case.version,
        household_id=case.household_id,
        dong_code=case.dong_code,
        manager_id=case.manager_id,
        stage=case.stage,
        stage_started_at=case.stage_started_at,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        close_reason=None if redacted else case.close_reason,
        goals=[] if redacted else list(case.goals or []),
        summary=None if redacted else case.summary,
        due=due,
        next_due_on=case.next_due_on,
        overdue=due.assessment.overdue or due.conference.overdue or due.plan.overdue,
        **case_deadline_fields(case),  # the next stage's clock (docs/winter.md)
        allowed_stages=allowed,
        members=members,
        redacted=redacted,
        created_at=case.created_at,
        updated_at=case.updated_at,
    )


async def to_public_many(session: AsyncSession, principal: Principal, cases: Sequence[Case]) -> list[CasePublic]:
    members = await members_of(session, [c.id for c in cases])
    hidden = await access.redacted_cases(session, principal, cases)
    today = local_today()
    return [to_public(principal, c, members.get(c.id, []), today, c.id in hidden) for c in cases]


# --- writing --------------------------------------------------------------------------------------------------


def _goals(goals: list[Goal]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    used = {g.key for g in goals if g.key}
    n = 0
    for goal in goals:
        key = goal.key
        if not key:
            n += 1
            while f"g{n}" in used:
                n += 1
            key = f"g{n}"
            used.add(key)
        out.append(
            {
                "key": key,
                "text": goal.text,
                "status": goal.status,
                "due_on": goal.due_on.isoformat() if goal.due_on else None,
            }
        )
    return out


async def _check_manager(session: AsyncSession, manager_id: uuid.UUID, dong_code: str) -> None:
    found = await user_with_org(session, manager_id)
    if found is None or not access.public_staff_covering(found[0], found[1], dong_code):
        raise field_problem("body.manager_id", "care.manager-role")


async def _member_row(session: AsyncSession, case: Case, member: CaseMemberCreate, field: str) -> CaseMember:
    found = await user_with_org(session, member.user_id)
    if found is None:
        raise field_problem(field, "care.unknown-user")
    user, org = found
    if not access.may_join_case(user, org, case.dong_code):
        raise field_problem(field, "care.member-role")
    return CaseMember(case_id=case.id, user_id=user.id, organization_id=org.id, role_note=member.role_note)


async def _add_member(session: AsyncSession, case: Case, member: CaseMemberCreate, field: str) -> bool:
    """Add or re-activate a membership; returns whether anything changed."""
    existing = await CaseRepository(session).member(case.id, member.user_id)
    if existing is not None:
        if existing.ended_at is None and (member.role_note is None or existing.role_note == member.role_note):
            return False
        await _member_row(session, case, member, field)  # the user must still fit
        existing.ended_at = None
        if member.role_note is not None:
            existing.role_note = member.role_note
        return True
    session.add(await _member_row(session, case, member, field))
    return True


async def create_case(session: AsyncSession, principal: Principal, body: CaseCreate) -> Case:
    if not access.may_open_case(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": ", ".join(r.value for r in access.CASE_CREATORS)})
    household = await policy.get_household_or_404(session, principal, body.household_id)
    open_case = await CaseRepository(session).open_of_household(household.id)
    if open_case is not None:
        raise Conflict("conflict", "care.case-duplicate", extra={"case_id": str(open_case)})
    manager_id = body.manager_id or principal.user_id
    await _check_manager(session, manager_id, household.dong_code)
    now = utcnow()
    case = Case(
        household_id=household.id,
        dong_code=household.dong_code,
        manager_id=manager_id,
        stage=CaseStage.intake,
        stage_started_at=now,
        opened_at=now,
        goals=_goals(body.goals),
        summary=body.summary,
        created_by_id=principal.user_id,
    )
    recompute_due(case)
    session.add(case)
    await session.flush()
    seen = {manager_id}
    session.add(
        await _member_row(session, case, CaseMemberCreate(user_id=manager_id, role_note="manager"), "body.manager_id")
    )
    for i, member in enumerate(body.members):
        if member.user_id in seen:
            continue
        seen.add(member.user_id)
        session.add(await _member_row(session, case, member, f"body.members.{i}.user_id"))
    session.add(
        CaseStageChange(case_id=case.id, from_stage=None, to_stage=case.stage.value, actor_id=principal.user_id, at=now)
    )
    await session.flush()
    await audit.record(
        session,
        principal,
        "case.create",
        entity="case",
        entity_id=case.id,
        household_id=household.id,
        purpose="case_management",
        details={"members": len(seen)},
    )
    return case


def _require_manage(principal: Principal, case: Case) -> None:
    if not access.may_manage_case(principal, case):
        raise Forbidden("care.case-not-manager")


async def update_case(session: AsyncSession, principal: Principal, case: Case, body: CaseUpdate) -> Case:
    _require_manage(principal, case)
    changes = body.model_dump(exclude_unset=True)
    if body.manager_id is not None and body.manager_id != case.manager_id:
        await _check_manager(session, body.manager_id, case.dong_code)
        case.manager_id = body.manager_id
        await _add_member(
            session, case, CaseMemberCreate(user_id=body.manager_id, role_note="manager"), "body.manager_id"
        )
    if body.goals is not None:
        case.goals = _goals(body.goals)
    if "summary" in changes:
        case.summary = body.summary
    await session.flush()
    await audit.record(
        session,
        principal,
        "case.update",
        entity="case",
        entity_id=case.id,
        household_id=case.household_id,
        purpose="case_management",
        details={"fields": sorted(changes)},
    )
    return case


async def add_member(session: AsyncSession, principal: Principal, case: Case, body: CaseMemberCreate) -> Case:
    _require_manage(principal, case)
    if case.closed_at is not None:
        raise Conflict(
            "case-illegal-transition",
            "care.case-illegal-transition",
            params={"from_stage": case.stage.value, "to_stage": case.stage.value, "allowed": "-"},
            extra={"allowed": [s.value for s in CASE_TRANSITIONS[case.stage]]},
        )
    if await _add_member(session, case, body, "body.user_id"):
        case.updated_at = utcnow()  # a team change is a change of the case (phones re-pull it)
        await session.flush()
        await audit.record(
            session,
            principal,
            "case.member.add",
            entity="case",
            entity_id=case.id,
            household_id=case.household_id,
            details={"user_id": str(body.user_id)},
        )
    return case


async def end_member(session: AsyncSession, principal: Principal, case: Case, user_id: uuid.UUID) -> Case:
    _require_manage(principal, case)
    if user_id == case.manager_id:
        raise field_problem("path.user_id", "care.manager-role")
    member = await CaseRepository(session).member(case.id, user_id, active=True)
    if member is None:
        raise NotFound()
    member.ended_at = utcnow()
    case.updated_at = member.ended_at
    await session.flush()
    await audit.record(
        session,
        principal,
        "case.member.end",
        entity="case",
        entity_id=case.id,
        household_id=case.household_id,
        details={"user_id": str(user_id)},
    )
    return case


async def transition_case(session: AsyncSession, principal: Principal, case: Case, body: CaseTransition) -> Case:
    _require_manage(principal, case)
    allowed = CASE_TRANSITIONS[case.stage]
    to = body.to
    if to not in allowed:
        names = [s.value for s in allowed]
        raise Conflict(
            "case-illegal-transition",
            "care.case-illegal-transition",
            params={"from_stage": case.stage.value, "to_stage": to.value, "allowed": ", ".join(names)},
            extra={"allowed": names, "stage": case.stage.value},
        )
    closing = to == CaseStage.closed and case.closed_at is None
    if (body.monitoring_interval_days is not None or body.monitoring_owner_id is not None) and not closing:
        raise field_problem("body.monitoring_interval_days", "care.not-closing")
    now = utcnow()
    from_stage = case.stage
    if from_stage == CaseStage.assessment and to == CaseStage.conference and case.assessment_done_at is None:
        case.assessment_done_at = now
    if from_stage == CaseStage.conference and to == CaseStage.planning and case.conference_done_at is None:
        case.conference_done_at = now
    if from_stage == CaseStage.planning and to == CaseStage.service and case.plan_done_at is None:
        case.plan_done_at = now
    case.stage = to
    case.stage_started_at = now
    ended_partners = 0
    if closing:
        case.closed_at = now
        case.close_reason = body.reason
        for member in await CaseRepository(session).active_private_members(case.id):
            member.ended_at = now
            ended_partners += 1
    recompute_due(case)
    await session.flush()
    session.add(
        CaseStageChange(
            case_id=case.id,
            from_stage=from_stage.value,
            to_stage=to.value,
            actor_id=principal.user_id,
            at=now,
            reason=body.reason,
        )
    )
    await audit.record(
        session,
        principal,
        "case.transition",
        entity="case",
        entity_id=case.id,
        household_id=case.household_id,
        purpose="case_management",
        details={"from": from_stage.value, "to": to.value, "ended_memberships": ended_partners},
    )
    if closing and body.schedule_monitoring:
        household = await session.get(Household, case.household_id)
        assert household is not None
        await ensure_plan(
            session,
            principal,
            household,
            owner_id=body.monitoring_owner_id or case.manager_id,
            fallback_owner_id=None if body.monitoring_owner_id else principal.user_id,
            interval_days=body.monitoring_interval_days or 30,
            source=MonitoringSource.case_closure,
            case_id=case.id,
            today=local_today(now),
            field="body.monitoring_owner_id",
        )
    return case
