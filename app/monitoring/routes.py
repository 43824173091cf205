"""``/v1/monitoring``: monitoring plans and their follow-up visits (``docs/care.md``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from app.access import gates
from app.access import monitoring as access
from app.core.deps import SessionDep
from app.core.http import CASEWORK_TEXTS, check_if_match, problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.times import IsoDay, local_today
from app.journal import audit
from app.monitoring import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.monitoring import service as monitoring
from app.monitoring.schemas import MonitoringCreate, MonitoringPublic, MonitoringRun, MonitoringUpdate

router = APIRouter(tags=["care"])

_TEXT = CASEWORK_TEXTS


@router.get(
    "/v1/monitoring",
    response_model=Page[MonitoringPublic],
    summary="Monitoring plans (jurisdiction; partners: their own)",
    responses=problems(403, texts=_TEXT),
)
async def list_monitoring(
    principal: gates.FieldStaff,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    owner: Annotated[Literal["me"] | None, Query(description="`me`: plans you own")] = None,
    active: bool | None = None,
    due: Annotated[bool | None, Query(description="Active and due today or earlier")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[MonitoringPublic]:
    today = local_today()
    rows, next_cursor = await monitoring.list_page(
        session,
        principal,
        today,
        household_id=household_id,
        owner_id=principal.user_id if owner == "me" else None,
        active=active,
        due=due,
        limit=limit,
        cursor=cursor,
    )
    await audit.record_many(
        session, principal, "monitoring.list", entity="monitoring_plan", items=[(p.id, p.household_id) for p in rows]
    )
    return Page(items=[monitoring.to_public(p, today) for p in rows], next_cursor=next_cursor)


@router.post(
    "/v1/monitoring",
    response_model=MonitoringPublic,
    status_code=201,
    summary="Start a monitoring plan for a household (coordinators, planners)",
    responses=problems(403, 404, 422, texts=_TEXT),
)
async def create_monitoring(
    body: MonitoringCreate, principal: gates.PublicStaff, session: SessionDep, response: Response
) -> MonitoringPublic:
    plan = await monitoring.create_plan(session, principal, body)
    set_etag(response, plan.version)
    return monitoring.to_public(plan, local_today())


@router.get(
    "/v1/monitoring/due",
    response_model=Page[MonitoringPublic],
    summary="Plans of your jurisdiction whose follow-up visit is due (coordinators), soonest first",
    responses=problems(403, texts=_TEXT),
)
async def due_monitoring(
    principal: gates.Coordinator,
    session: SessionDep,
    on: Annotated[IsoDay | None, Query(description="As of this date (default today)")] = None,
    limit: LimitQuery = 500,
    cursor: CursorQuery = None,
) -> Page[MonitoringPublic]:
    today = on or local_today()
    rows, next_cursor = await monitoring.due_page(session, principal, today, limit=limit, cursor=cursor)
    await audit.record_many(
        session, principal, "monitoring.list", entity="monitoring_plan", items=[(p.id, p.household_id) for p in rows]
    )
    return Page(items=[monitoring.to_public(p, today) for p in rows], next_cursor=next_cursor)


@router.post(
    "/v1/monitoring/run",
    response_model=MonitoringRun,
    summary="Create the due follow-up visits of your jurisdiction now (coordinators)",
    responses=problems(403, texts=_TEXT),
)
async def run_monitoring(principal: gates.Coordinator, session: SessionDep) -> MonitoringRun:
    now = datetime.now(UTC)
    created = await monitoring.schedule_due_followups_detail(
        session, now, within=access.plans_in_jurisdiction(principal)
    )
    await audit.record(
        session, principal, "monitoring.run", entity="monitoring_plan", details={"visits_created": len(created)}
    )
    return MonitoringRun(as_of=local_today(now), created=len(created), visit_ids=created)


@router.get(
    "/v1/monitoring/{plan_id}",
    response_model=MonitoringPublic,
    summary="One monitoring plan",
    responses=problems(403, 404, texts=_TEXT),
)
async def get_monitoring(
    plan_id: uuid.UUID, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> MonitoringPublic:
    plan = await monitoring.get_plan_or_404(session, principal, plan_id)
    await audit.record(
        session,
        principal,
        "monitoring.read",
        entity="monitoring_plan",
        entity_id=plan.id,
        household_id=plan.household_id,
    )
    set_etag(response, plan.version)
    return monitoring.to_public(plan, local_today())


@router.patch(
    "/v1/monitoring/{plan_id}",
    response_model=MonitoringPublic,
    summary="Change a plan: owner, interval, next due date, end (coordinators, planners)",
    responses=problems(403, 404, 412, 422, texts=_TEXT),
)
async def update_monitoring(
    plan_id: uuid.UUID,
    body: MonitoringUpdate,
    request: Request,
    principal: gates.PublicStaff,
    session: SessionDep,
    response: Response,
) -> MonitoringPublic:
    plan = await monitoring.get_plan_or_404(session, principal, plan_id)
    check_if_match(request, plan.version)
    plan = await monitoring.update_plan(session, principal, plan, body)
    set_etag(response, plan.version)
    return monitoring.to_public(plan, local_today())
