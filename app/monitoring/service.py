"""Monitoring plans (``docs/care.md``): follow-up visits at an interval after a support or a case closure.

A plan belongs to one household and has an owner (the worker who makes the follow-up visits), an interval
in days and the next due date (service time zone). :func:`schedule_due_followups` — run by the worker
process, or by a coordinator through ``POST /v1/monitoring/run`` — creates the follow-up visit of every
active plan that is due (purpose ``follow_up``, assigned to the plan's owner, a window from the due date
(or today, if that has passed) 09:00 to six days later 18:00), then moves the due date on by the interval
(skipping intervals that passed unvisited, so a backlog never turns into a pile of visits). A plan whose
previous follow-up visit is still open stays due and gets no second visit; a plan past its ``ends_on``
ends. Running it twice on a day creates nothing the second time.

Who: coordinators and planners see and manage the plans of their jurisdiction; a partner sees the plans
they own (:mod:`app.access.monitoring` decides).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import monitoring as access
from app.access import policy
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound, field_problem
from app.core.principal import Principal
from app.core.times import local_at, local_today
from app.households.models import Household, HouseholdStatus
from app.journal import audit
from app.monitoring.models import MonitoringPlan, MonitoringSource
from app.monitoring.repository import PlanRepository, user_with_org
from app.monitoring.schemas import MonitoringCreate, MonitoringPublic, MonitoringUpdate
from app.visits.models import Visit, VisitAssignee, VisitPurpose

FOLLOW_UP_WINDOW_DAYS = 6


def advance_household(household: Any, to: Any) -> bool:
    """Move a household forward along its status flow (identified → … → supported → monitoring) when care
    reaches a later step: a support approved or provided, a monitoring plan started. Never backwards, and a
    closed household stays closed (a new signal reopens it, ``docs/care.md``)."""
    from app.households.service import FLOW

    current = HouseholdStatus(household.status)
    target = HouseholdStatus(to)
    if current == HouseholdStatus.closed or FLOW.index(target) <= FLOW.index(current):
        return False
    household.status = target
    household.status_changed_at = utcnow()
    return True


# --- reading ----------------------------------------------------------------------------------------------------


async def list_page(
    session: AsyncSession,
    principal: Principal,
    today: date,
    *,
    limit: int,
    cursor: str | None,
    **filters: Any,
) -> tuple[list[MonitoringPlan], str | None]:
    """One page of the plans the caller sees (``filters``: :meth:`PlanRepository.listing`'s)."""
    repo = PlanRepository(session)
    stmt = repo.listing(access.monitoring_filter(principal), today, **filters)
    return await repo.page(stmt, order=(MonitoringPlan.created_at, MonitoringPlan.id), limit=limit, cursor=cursor)


async def due_page(
    session: AsyncSession, principal: Principal, today: date, *, limit: int, cursor: str | None
) -> tuple[list[MonitoringPlan], str | None]:
    """The plans of the caller's jurisdiction due on ``today``, soonest first."""
    repo = PlanRepository(session)
    stmt = repo.due(today, access.plans_in_jurisdiction(principal))
    return await repo.page(stmt, order=(MonitoringPlan.next_due_on, MonitoringPlan.id), limit=limit, cursor=cursor)


async def get_plan_or_404(session: AsyncSession, principal: Principal, plan_id: uuid.UUID) -> MonitoringPlan:
    plan = await PlanRepository(session).readable(plan_id, access.monitoring_filter(principal))
    if plan is None:
        raise NotFound()
    return plan


def to_public(plan: MonitoringPlan, today: date) -> MonitoringPublic:
    return MonitoringPublic(
        id=plan.id,
        version=plan.version,
        household_id=plan.household_id,
        district_code=plan.district_code,
        dong_code=plan.dong_code,
        owner_id=plan.owner_id,
        interval_days=plan.interval_days,
        next_due_on=plan.next_due_on,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        active=plan.active,
        due=plan.active and plan.next_due_on <= today,
        source=plan.source,
        support_id=plan.support_id,
        case_id=plan.case_id,
        last_visit_id=plan.last_visit_id,
        last_scheduled_at=plan.last_scheduled_at,
        visits_created=plan.visits_created,
        note=plan.note,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


async def owner_fits(session: AsyncSession, owner_id: uuid.UUID, dong_code: str) -> bool:
    """Whether ``owner_id`` can make follow-up visits in ``dong_code`` (:func:`app.access.monitoring.may_own_plan`)."""
    found = await user_with_org(session, owner_id)
    return found is not None and access.may_own_plan(found[0], found[1], dong_code)


async def active_plan(session: AsyncSession, household_id: uuid.UUID) -> MonitoringPlan | None:
    return await PlanRepository(session).active_of_household(household_id)


async def ensure_plan(
    session: AsyncSession,
    principal: Principal,
    household: Household,
    *,
    owner_id: uuid.UUID,
    fallback_owner_id: uuid.UUID | None,
    interval_days: int,
    source: MonitoringSource,
    today: date,
    field: str,
    support_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
) -> MonitoringPlan:
    """The household's active plan, or a new one starting today. ``owner_id`` must fit the household's dong
    (422 on ``field`` otherwise) unless ``fallback_owner_id`` is given, which is used instead."""
    existing = await active_plan(session, household.id)
    if existing is not None:
        return existing
    if not await owner_fits(session, owner_id, household.dong_code):
        if fallback_owner_id is None or not await owner_fits(session, fallback_owner_id, household.dong_code):
            raise field_problem(field, "care.owner-role")
        owner_id = fallback_owner_id
    plan = MonitoringPlan(
        household_id=household.id,
        district_code=household.district_code,
        dong_code=household.dong_code,
        owner_id=owner_id,
        interval_days=interval_days,
        next_due_on=today + timedelta(days=interval_days),
        starts_on=today,
        source=source,
        support_id=support_id,
        case_id=case_id,
        created_by_id=principal.user_id,
    )
    session.add(plan)
    advance_household(household, HouseholdStatus.monitoring)
    await session.flush()
    await audit.record(
        session,
        principal,
        "monitoring.create",
        entity="monitoring_plan",
        entity_id=plan.id,
        household_id=household.id,
        purpose="follow_up",
        details={"source": source.value},
    )
    return plan


async def create_plan(session: AsyncSession, principal: Principal, body: MonitoringCreate) -> MonitoringPlan:
    if not access.may_manage_plans(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": ", ".join(r.value for r in access.PLAN_MANAGERS)})
    household = await policy.get_household_or_404(session, principal, body.household_id)
    owner_id = body.owner_id or principal.user_id
    if not await owner_fits(session, owner_id, household.dong_code):
        raise field_problem("body.owner_id", "care.owner-role")
    repo = PlanRepository(session)
    for field, reference, named in (
        ("body.support_id", MonitoringPlan.support_id, body.support_id),
        ("body.case_id", MonitoringPlan.case_id, body.case_id),
    ):
        if named is not None and await repo.household_of(reference, named) != household.id:
            raise field_problem(field, "care.case-other-household")
    today = local_today()
    if body.ends_on is not None and body.ends_on < today:
        raise field_problem("body.ends_on", "care.period-order")
    plan = MonitoringPlan(
        household_id=household.id,
        district_code=household.district_code,
        dong_code=household.dong_code,
        owner_id=owner_id,
        interval_days=body.interval_days,
        next_due_on=body.next_due_on or today + timedelta(days=body.interval_days),
        starts_on=today,
        ends_on=body.ends_on,
        source=MonitoringSource.manual,
        support_id=body.support_id,
        case_id=body.case_id,
        note=body.note,
        created_by_id=principal.user_id,
    )
    session.add(plan)
    advance_household(household, HouseholdStatus.monitoring)
    await session.flush()
    await audit.record(
        session,
        principal,
        "monitoring.create",
        entity="monitoring_plan",
        entity_id=plan.id,
        household_id=household.id,
        purpose="follow_up",
    )
    return plan


async def update_plan(
    session: AsyncSession, principal: Principal, plan: MonitoringPlan, body: MonitoringUpdate
) -> MonitoringPlan:
    if not access.may_manage_plans(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": ", ".join(r.value for r in access.PLAN_MANAGERS)})
    changes = body.model_dump(exclude_unset=True)
    if changes.get("owner_id") is not None and not await owner_fits(session, changes["owner_id"], plan.dong_code):
        raise field_problem("body.owner_id", "care.owner-role")
    for name in ("owner_id", "interval_days", "next_due_on", "active"):
        if changes.get(name) is not None:
            setattr(plan, name, changes[name])
    for name in ("ends_on", "note"):
        if name in changes:
            setattr(plan, name, changes[name])
    if plan.ends_on is not None and plan.ends_on < plan.starts_on:
        raise field_problem("body.ends_on", "care.period-order")
    if "active" in changes:
        plan.ended_at = None if plan.active else utcnow()
    await session.flush()
    await audit.record(
        session,
        principal,
        "monitoring.update",
        entity="monitoring_plan",
        entity_id=plan.id,
        household_id=plan.household_id,
        details={"fields": sorted(changes)},
    )
    return plan


async def schedule_due_followups_detail(
    session: AsyncSession,
    now: datetime,
    *,
    within: ColumnElement[bool] | None = None,
    tz: ZoneInfo | None = None,
    limit: int = 5000,
) -> list[uuid.UUID]:
    """Create the follow-up visits of the due plans (``within`` an area when given: a coordinator's run, from
    :func:`app.access.monitoring.plans_in_jurisdiction`); returns the new visit ids."""
    today = local_today(now, tz)
    repo = PlanRepository(session)
    plans = await repo.all(repo.due(today, within).order_by(MonitoringPlan.next_due_on, MonitoringPlan.id).limit(limit))
    if not plans:
        return []
    households = await repo.households({p.household_id for p in plans})
    open_last = await repo.open_visits({p.last_visit_id for p in plans if p.last_visit_id is not None})
    created: list[uuid.UUID] = []
    for plan in plans:
        household = households.get(plan.household_id)
        if household is None or household.deleted_at is not None or (plan.ends_on is not None and plan.ends_on < today):
            plan.active = False
            plan.ended_at = now
            continue
        if plan.last_visit_id in open_last:
            continue  # the previous follow-up is still to be made: no second visit
        found = await user_with_org(session, plan.owner_id)
        if found is None:
            continue  # the owner left: the plan stays due until a coordinator gives it to someone else
        owner, owner_org = found
        start_day = max(plan.next_due_on, today)
        visit = Visit(
            household_id=household.id,
            dong_code=household.dong_code,
            purpose=VisitPurpose.follow_up,
            window_start=local_at(start_day, 9, tz=tz),
            window_end=local_at(start_day + timedelta(days=FOLLOW_UP_WINDOW_DAYS), 18, tz=tz),
            outcome=None,
        )
        session.add(visit)
        await session.flush()
        session.add(VisitAssignee(visit_id=visit.id, user_id=owner.id, organization_id=owner_org.id, lead=True))
        plan.last_visit_id = visit.id
        plan.last_scheduled_at = now
        plan.visits_created += 1
        due = plan.next_due_on
        while due <= today:
            due += timedelta(days=plan.interval_days)
        plan.next_due_on = due
        created.append(visit.id)
    await session.flush()
    if created:
        await audit.record(
            session, None, "monitoring.schedule", entity="visit", details={"visits": len(created), "plans": len(plans)}
        )
    return created


async def schedule_due_followups(session: AsyncSession, now: datetime) -> int:
    """For the worker: create the follow-up visits of every due monitoring plan. Returns how many."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return len(await schedule_due_followups_detail(session, now))
