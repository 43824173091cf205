"""``/v1/resources``, ``/v1/supports``, ``/v1/cases``, ``/v1/monitoring``, ``/v1/campaigns`` (DESIGN §2, §7.1)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import case_filter, get_case_or_404, role_gate
from app.auth.models import Role
from app.auth.principal import Principal
from app.care import campaigns, cases, monitoring, resources, supports
from app.care import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.care.common import local_today
from app.care.models import (
    Campaign,
    Case,
    CaseStage,
    CaseStageChange,
    MonitoringPlan,
    Resource,
    ResourceKind,
    Support,
    SupportHistory,
    SupportStatus,
)
from app.care.schemas import (
    CampaignCreate,
    CampaignPublic,
    CampaignSummary,
    CampaignUpdate,
    CaseCreate,
    CaseMemberIn,
    CasePublic,
    CaseStageChangePublic,
    CaseTransition,
    CaseUpdate,
    MonitoringCreate,
    MonitoringPublic,
    MonitoringRun,
    MonitoringUpdate,
    ResourceCreate,
    ResourcePublic,
    ResourceUpdate,
    SupportCreate,
    SupportHistoryPublic,
    SupportLedger,
    SupportPublic,
    SupportTransition,
    SupportUpdate,
)
from app.core.deps import SessionDep
from app.core.etag import check_if_match, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor, invalid_cursor, keyset_page
from app.core.times import IsoDay
from app.journal import audit

router = APIRouter(tags=["care"])

_PROBLEM = {"content": {"application/problem+json": {}}}
_TEXT = {
    403: "Your role can never do this (or you are not the approver, manager or coordinator it needs)",
    404: "No such record, or not visible to you",
    409: "Not allowed from the current status or stage (`allowed` lists the moves), exhausted, or a duplicate "
    "(`possible-duplicate-support` names the overlapping supports in `duplicates`: resend with confirm: true)",
    412: "If-Match does not match the current version",
    422: "Invalid input (field errors in `errors`)",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": _TEXT[code], **_PROBLEM} for code in codes}


FieldReader = Annotated[Principal, Depends(role_gate(Role.admin, Role.coordinator, Role.planner, Role.partner))]
CatalogManager = Annotated[Principal, Depends(role_gate(Role.admin, Role.coordinator))]
SupportReader = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="supports:read"))
]
Staff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner))]
PublicStaff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner))]
Coordinator = Annotated[Principal, Depends(role_gate(Role.coordinator))]


# --- resources ------------------------------------------------------------------------------------------------


@router.get(
    "/v1/resources",
    response_model=Page[ResourcePublic],
    summary="The resource catalog of your districts",
    responses=_problems(403),
)
async def list_resources(
    principal: FieldReader,
    session: SessionDep,
    kind: ResourceKind | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    provider_organization_id: uuid.UUID | None = None,
    active: Annotated[bool | None, Query(description="Default: active ones only")] = True,
    available: Annotated[bool | None, Query(description="Only with capacity left (or not limited)")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ResourcePublic]:
    stmt = select(Resource).where(resources.resource_filter(principal))
    if kind is not None:
        stmt = stmt.where(Resource.kind == kind)
    if category is not None:
        stmt = stmt.where(Resource.category == category)
    if provider_organization_id is not None:
        stmt = stmt.where(Resource.provider_organization_id == provider_organization_id)
    if active is not None:
        stmt = stmt.where(Resource.active.is_(active))
    if available:
        stmt = stmt.where(or_(Resource.remaining.is_(None), Resource.remaining > 0))
    if q:
        stmt = stmt.where(Resource.name.contains(q, autoescape=True))
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=Resource.created_at, id_col=Resource.id, limit=limit, cursor=cursor
    )
    names = await resources.provider_names(session, {r.provider_organization_id for r in rows})
    return Page(items=[resources.to_public(r, names) for r in rows], next_cursor=next_cursor)


@router.post(
    "/v1/resources",
    response_model=ResourcePublic,
    status_code=201,
    summary="Add a resource to the catalog (admins, coordinators)",
    responses=_problems(403, 422),
)
async def create_resource(
    body: ResourceCreate, principal: CatalogManager, session: SessionDep, response: Response
) -> ResourcePublic:
    resource = await resources.create_resource(session, principal, body)
    set_etag(response, resource.version)
    names = await resources.provider_names(session, {resource.provider_organization_id})
    return resources.to_public(resource, names)


@router.get(
    "/v1/resources/{resource_id}",
    response_model=ResourcePublic,
    summary="One resource",
    responses=_problems(403, 404),
)
async def get_resource(
    resource_id: uuid.UUID, principal: FieldReader, session: SessionDep, response: Response
) -> ResourcePublic:
    resource = await resources.get_resource_or_404(session, principal, resource_id)
    set_etag(response, resource.version)
    names = await resources.provider_names(session, {resource.provider_organization_id})
    return resources.to_public(resource, names)


@router.patch(
    "/v1/resources/{resource_id}",
    response_model=ResourcePublic,
    summary="Change a resource: details, capacity, active (admins, coordinators)",
    responses=_problems(403, 404, 412, 422),
)
async def update_resource(
    resource_id: uuid.UUID,
    body: ResourceUpdate,
    request: Request,
    principal: CatalogManager,
    session: SessionDep,
    response: Response,
) -> ResourcePublic:
    resource = await resources.get_resource_or_404(session, principal, resource_id)
    check_if_match(request, resource.version)
    resource = await resources.update_resource(session, principal, resource, body)
    set_etag(response, resource.version)
    names = await resources.provider_names(session, {resource.provider_organization_id})
    return resources.to_public(resource, names)


@router.delete(
    "/v1/resources/{resource_id}",
    status_code=204,
    summary="Retire a resource (kept as a tombstone; its supports keep pointing at it)",
    responses=_problems(403, 404, 412),
)
async def delete_resource(
    resource_id: uuid.UUID, request: Request, principal: CatalogManager, session: SessionDep
) -> Response:
    resource = await resources.get_resource_or_404(session, principal, resource_id)
    check_if_match(request, resource.version)
    await resources.delete_resource(session, principal, resource)
    return Response(status_code=204)


# --- supports -------------------------------------------------------------------------------------------------


async def _support_out(
    session: AsyncSession, principal: Principal, support: Any, view: Any, response: Response
) -> SupportPublic:
    """One support as answered: its ETag and its public shape under the caller's view."""
    set_etag(response, support.version)
    return (await supports.to_public_many(session, principal, [support], view))[0]


@router.get(
    "/v1/supports",
    response_model=Page[SupportPublic],
    summary="Supports you may see (household policy; partners also their organization's)",
    responses=_problems(403),
)
async def list_supports(
    principal: SupportReader,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    status: Annotated[list[SupportStatus] | None, Query()] = None,
    resource_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
    provider_organization_id: uuid.UUID | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[SupportPublic]:
    view = await supports.support_view(session, principal)
    stmt = select(Support).where(view.clause)
    for column, value in (
        (Support.household_id, household_id),
        (Support.resource_id, resource_id),
        (Support.case_id, case_id),
        (Support.visit_id, visit_id),
        (Support.provider_organization_id, provider_organization_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if status:
        stmt = stmt.where(Support.status.in_(status))
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=Support.created_at, id_col=Support.id, limit=limit, cursor=cursor
    )
    await audit.record_many(
        session,
        principal,
        "support.list",
        entity="support",
        items=[(s.id, s.household_id if view.household_visible(s) else None) for s in rows],
        purpose="service_linkage",
    )
    return Page(items=await supports.to_public_many(session, principal, rows, view), next_cursor=next_cursor)


@router.post(
    "/v1/supports",
    response_model=SupportPublic,
    status_code=201,
    summary="Propose a support: link a household to a resource",
    responses=_problems(403, 404, 409, 422),
)
async def create_support(
    body: SupportCreate, principal: Staff, session: SessionDep, response: Response
) -> SupportPublic:
    support = await supports.create_support(session, principal, body)
    view = await supports.support_view(session, principal)
    return await _support_out(session, principal, support, view, response)


@router.get(
    "/v1/households/{household_id}/ledger",
    response_model=SupportLedger,
    summary="The support ledger of a household: every support, public and private, with totals",
    description="Each support with its resource, provider, amount, period and status, the other entries of "
    "the same need whose periods overlap it, and totals by status, kind and need. Public staff see every "
    "support; a private partner only private resources (its own organization's, and every provider's under a "
    "consent for service_linkage). Staff only. Audited.",
    responses=_problems(403, 404),
)
async def support_ledger(
    household_id: uuid.UUID,
    principal: Staff,
    session: SessionDep,
    status: Annotated[list[SupportStatus] | None, Query()] = None,
) -> SupportLedger:
    return await supports.ledger(session, principal, household_id, status)


@router.get(
    "/v1/supports/{support_id}",
    response_model=SupportPublic,
    summary="One support",
    responses=_problems(403, 404),
)
async def get_support(
    support_id: uuid.UUID, principal: SupportReader, session: SessionDep, response: Response
) -> SupportPublic:
    support, view = await supports.get_support_or_404(session, principal, support_id)
    await audit.record(
        session,
        principal,
        "support.read",
        entity="support",
        entity_id=support.id,
        household_id=support.household_id if view.household_visible(support) else None,
        purpose="service_linkage",
    )
    return await _support_out(session, principal, support, view, response)


@router.patch(
    "/v1/supports/{support_id}",
    response_model=SupportPublic,
    summary="Change amount, period or reason while proposed or requested",
    responses=_problems(403, 404, 409, 412, 422),
)
async def update_support(
    support_id: uuid.UUID,
    body: SupportUpdate,
    request: Request,
    principal: Staff,
    session: SessionDep,
    response: Response,
) -> SupportPublic:
    support, view = await supports.get_support_or_404(session, principal, support_id)
    check_if_match(request, support.version)
    support = await supports.update_support(session, principal, support, view, body)
    return await _support_out(session, principal, support, view, response)


@router.post(
    "/v1/supports/{support_id}/transitions",
    response_model=SupportPublic,
    summary="Move a support: requested, approved (takes capacity), provided, declined",
    responses=_problems(403, 404, 409, 412, 422),
)
async def transition_support(
    support_id: uuid.UUID,
    body: SupportTransition,
    request: Request,
    principal: Staff,
    session: SessionDep,
    response: Response,
) -> SupportPublic:
    support, view = await supports.get_support_or_404(session, principal, support_id)
    check_if_match(request, support.version)
    support = await supports.transition_support(session, principal, support, view, body)
    return await _support_out(session, principal, support, view, response)


@router.get(
    "/v1/supports/{support_id}/history",
    response_model=Page[SupportHistoryPublic],
    summary="Status history of a support (who, when, from, to), oldest first",
    responses=_problems(403, 404),
)
async def support_history(
    support_id: uuid.UUID,
    principal: SupportReader,
    session: SessionDep,
    limit: LimitQuery = 500,
    cursor: CursorQuery = None,
) -> Page[SupportHistoryPublic]:
    support, _view = await supports.get_support_or_404(session, principal, support_id)
    stmt = select(SupportHistory).where(SupportHistory.support_id == support.id)
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=SupportHistory.at, id_col=SupportHistory.id, limit=limit, cursor=cursor
    )
    return Page(items=[SupportHistoryPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


# --- cases ----------------------------------------------------------------------------------------------------


async def _case_out(session: AsyncSession, principal: Principal, case: Any, response: Response) -> CasePublic:
    """One case as answered: its ETag and its public shape."""
    set_etag(response, case.version)
    return (await cases.to_public_many(session, principal, [case]))[0]


@router.get(
    "/v1/cases",
    response_model=Page[CasePublic],
    summary="Integrated cases you may see (`overdue=true`: a step past its due date)",
    responses=_problems(403),
)
async def list_cases(
    principal: Staff,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    stage: Annotated[list[CaseStage] | None, Query()] = None,
    manager: Annotated[str | None, Query(description="`me` or a user id", max_length=40)] = None,
    overdue: bool | None = None,
    open: Annotated[bool | None, Query(description="Open (not closed) cases only, or closed only")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[CasePublic]:
    stmt = select(Case).where(Case.deleted_at.is_(None), case_filter(principal))
    if household_id is not None:
        stmt = stmt.where(Case.household_id == household_id)
    if stage:
        stmt = stmt.where(Case.stage.in_(stage))
    if manager is not None:
        if manager == "me":
            stmt = stmt.where(Case.manager_id == principal.user_id)
        else:
            try:
                stmt = stmt.where(Case.manager_id == uuid.UUID(manager))
            except ValueError:
                from app.care.common import field_problem

                raise field_problem("query.manager", "care.unknown-user") from None
    today = local_today()
    if overdue is True:
        stmt = stmt.where(Case.closed_at.is_(None), Case.next_due_on < today)
    elif overdue is False:
        stmt = stmt.where(or_(Case.closed_at.is_not(None), Case.next_due_on.is_(None), Case.next_due_on >= today))
    if open is True:
        stmt = stmt.where(Case.closed_at.is_(None))
    elif open is False:
        stmt = stmt.where(Case.closed_at.is_not(None))
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=Case.created_at, id_col=Case.id, limit=limit, cursor=cursor
    )
    await audit.record_many(
        session,
        principal,
        "case.list",
        entity="case",
        items=[(c.id, c.household_id) for c in rows],
        purpose="case_management",
    )
    return Page(items=await cases.to_public_many(session, principal, rows), next_cursor=next_cursor)


@router.post(
    "/v1/cases",
    response_model=CasePublic,
    status_code=201,
    summary="Open an integrated case for a household (coordinators, planners)",
    responses=_problems(403, 404, 409, 422),
)
async def create_case(body: CaseCreate, principal: PublicStaff, session: SessionDep, response: Response) -> CasePublic:
    case = await cases.create_case(session, principal, body)
    return await _case_out(session, principal, case, response)


@router.get(
    "/v1/cases/{case_id}",
    response_model=CasePublic,
    summary="One case, with team and due dates",
    responses=_problems(403, 404),
)
async def get_case(case_id: uuid.UUID, principal: Staff, session: SessionDep, response: Response) -> CasePublic:
    case = await get_case_or_404(session, principal, case_id)
    await audit.record(
        session,
        principal,
        "case.read",
        entity="case",
        entity_id=case.id,
        household_id=case.household_id,
        purpose="case_management",
    )
    return await _case_out(session, principal, case, response)


@router.patch(
    "/v1/cases/{case_id}",
    response_model=CasePublic,
    summary="Change goals, summary or manager (the manager or a coordinator)",
    responses=_problems(403, 404, 412, 422),
)
async def update_case(
    case_id: uuid.UUID, body: CaseUpdate, request: Request, principal: Staff, session: SessionDep, response: Response
) -> CasePublic:
    case = await get_case_or_404(session, principal, case_id)
    check_if_match(request, case.version)
    case = await cases.update_case(session, principal, case, body)
    return await _case_out(session, principal, case, response)


@router.post(
    "/v1/cases/{case_id}/transitions",
    response_model=CasePublic,
    summary="Move a case to another stage (409 lists the allowed ones)",
    responses=_problems(403, 404, 409, 412, 422),
)
async def transition_case(
    case_id: uuid.UUID,
    body: CaseTransition,
    request: Request,
    principal: Staff,
    session: SessionDep,
    response: Response,
) -> CasePublic:
    case = await get_case_or_404(session, principal, case_id)
    check_if_match(request, case.version)
    case = await cases.transition_case(session, principal, case, body)
    return await _case_out(session, principal, case, response)


@router.get(
    "/v1/cases/{case_id}/history",
    response_model=Page[CaseStageChangePublic],
    summary="Stage history of a case, oldest first",
    responses=_problems(403, 404),
)
async def case_history(
    case_id: uuid.UUID, principal: Staff, session: SessionDep, limit: LimitQuery = 500, cursor: CursorQuery = None
) -> Page[CaseStageChangePublic]:
    case = await get_case_or_404(session, principal, case_id)
    stmt = select(CaseStageChange).where(CaseStageChange.case_id == case.id)
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=CaseStageChange.at, id_col=CaseStageChange.id, limit=limit, cursor=cursor
    )
    return Page(items=[CaseStageChangePublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/v1/cases/{case_id}/members",
    response_model=CasePublic,
    summary="Add a member to a case's team (public staff or a partner)",
    responses=_problems(403, 404, 409, 422),
)
async def add_case_member(
    case_id: uuid.UUID, body: CaseMemberIn, principal: Staff, session: SessionDep, response: Response
) -> CasePublic:
    case = await get_case_or_404(session, principal, case_id)
    case = await cases.add_member(session, principal, case, body)
    return await _case_out(session, principal, case, response)


@router.delete(
    "/v1/cases/{case_id}/members/{user_id}",
    response_model=CasePublic,
    summary="End a member's place on a case's team (the row is kept with ended_at)",
    responses=_problems(403, 404, 422),
)
async def end_case_member(
    case_id: uuid.UUID, user_id: uuid.UUID, principal: Staff, session: SessionDep, response: Response
) -> CasePublic:
    case = await get_case_or_404(session, principal, case_id)
    case = await cases.end_member(session, principal, case, user_id)
    return await _case_out(session, principal, case, response)


# --- monitoring -----------------------------------------------------------------------------------------------


@router.get(
    "/v1/monitoring",
    response_model=Page[MonitoringPublic],
    summary="Monitoring plans (jurisdiction; partners: their own)",
    responses=_problems(403),
)
async def list_monitoring(
    principal: Staff,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    owner: Annotated[Literal["me"] | None, Query(description="`me`: plans you own")] = None,
    active: bool | None = None,
    due: Annotated[bool | None, Query(description="Active and due today or earlier")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[MonitoringPublic]:
    today = local_today()
    stmt = select(MonitoringPlan).where(monitoring.monitoring_filter(principal))
    if household_id is not None:
        stmt = stmt.where(MonitoringPlan.household_id == household_id)
    if owner == "me":
        stmt = stmt.where(MonitoringPlan.owner_id == principal.user_id)
    if active is not None:
        stmt = stmt.where(MonitoringPlan.active.is_(active))
    if due is True:
        stmt = stmt.where(monitoring.due_clause(today, None))
    elif due is False:
        stmt = stmt.where(or_(MonitoringPlan.active.is_(False), MonitoringPlan.next_due_on > today))
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=MonitoringPlan.created_at, id_col=MonitoringPlan.id, limit=limit, cursor=cursor
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
    responses=_problems(403, 404, 422),
)
async def create_monitoring(
    body: MonitoringCreate, principal: PublicStaff, session: SessionDep, response: Response
) -> MonitoringPublic:
    plan = await monitoring.create_plan(session, principal, body)
    set_etag(response, plan.version)
    return monitoring.to_public(plan, local_today())


@router.get(
    "/v1/monitoring/due",
    response_model=Page[MonitoringPublic],
    summary="Plans of your jurisdiction whose follow-up visit is due (coordinators), soonest first",
    responses=_problems(403),
)
async def due_monitoring(
    principal: Coordinator,
    session: SessionDep,
    on: Annotated[IsoDay | None, Query(description="As of this date (default today)")] = None,
    limit: LimitQuery = 500,
    cursor: CursorQuery = None,
) -> Page[MonitoringPublic]:
    today = on or local_today()
    stmt = select(MonitoringPlan).where(monitoring.due_clause(today, principal.jurisdiction))
    if cursor:
        raw = decode_cursor(cursor)
        try:
            c_due, c_id = date.fromisoformat(raw[0]), uuid.UUID(raw[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
        stmt = stmt.where(
            or_(
                MonitoringPlan.next_due_on > c_due,
                and_(MonitoringPlan.next_due_on == c_due, MonitoringPlan.id > c_id),
            )
        )
    rows = list(
        (await session.execute(stmt.order_by(MonitoringPlan.next_due_on, MonitoringPlan.id).limit(limit + 1))).scalars()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].next_due_on.isoformat(), str(rows[-1].id)])
    await audit.record_many(
        session, principal, "monitoring.list", entity="monitoring_plan", items=[(p.id, p.household_id) for p in rows]
    )
    return Page(items=[monitoring.to_public(p, today) for p in rows], next_cursor=next_cursor)


@router.post(
    "/v1/monitoring/run",
    response_model=MonitoringRun,
    summary="Create the due follow-up visits of your jurisdiction now (coordinators)",
    responses=_problems(403),
)
async def run_monitoring(principal: Coordinator, session: SessionDep) -> MonitoringRun:
    now = datetime.now(UTC)
    created = await monitoring.schedule_due_followups_detail(session, now, codes=principal.jurisdiction)
    await audit.record(
        session, principal, "monitoring.run", entity="monitoring_plan", details={"visits_created": len(created)}
    )
    return MonitoringRun(as_of=local_today(now), created=len(created), visit_ids=created)


@router.get(
    "/v1/monitoring/{plan_id}",
    response_model=MonitoringPublic,
    summary="One monitoring plan",
    responses=_problems(403, 404),
)
async def get_monitoring(
    plan_id: uuid.UUID, principal: Staff, session: SessionDep, response: Response
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
    responses=_problems(403, 404, 412, 422),
)
async def update_monitoring(
    plan_id: uuid.UUID,
    body: MonitoringUpdate,
    request: Request,
    principal: PublicStaff,
    session: SessionDep,
    response: Response,
) -> MonitoringPublic:
    plan = await monitoring.get_plan_or_404(session, principal, plan_id)
    check_if_match(request, plan.version)
    plan = await monitoring.update_plan(session, principal, plan, body)
    set_etag(response, plan.version)
    return monitoring.to_public(plan, local_today())


# --- campaigns ------------------------------------------------------------------------------------------------


@router.get(
    "/v1/campaigns",
    response_model=Page[CampaignPublic],
    summary="Campaigns overlapping your jurisdiction",
    responses=_problems(403),
)
async def list_campaigns(
    principal: Staff,
    session: SessionDep,
    active: bool | None = None,
    on: Annotated[IsoDay | None, Query(description="Running on this date")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[CampaignPublic]:
    rows, next_cursor = await campaigns.list_campaigns(
        session, principal, active=active, on=on, limit=limit, cursor=cursor
    )
    return Page(items=[campaigns.to_public(c) for c in rows], next_cursor=next_cursor)


@router.post(
    "/v1/campaigns",
    response_model=CampaignPublic,
    status_code=201,
    summary="Start a campaign in your jurisdiction (coordinators)",
    responses=_problems(403, 422),
)
async def create_campaign(
    body: CampaignCreate, principal: Coordinator, session: SessionDep, response: Response
) -> CampaignPublic:
    campaign = await campaigns.create_campaign(session, principal, body)
    set_etag(response, campaign.version)
    return campaigns.to_public(campaign)


@router.get(
    "/v1/campaigns/{campaign_id}", response_model=CampaignPublic, summary="One campaign", responses=_problems(403, 404)
)
async def get_campaign(
    campaign_id: uuid.UUID, principal: Staff, session: SessionDep, response: Response
) -> CampaignPublic:
    campaign = await campaigns.get_campaign_or_404(session, principal, campaign_id)
    set_etag(response, campaign.version)
    return campaigns.to_public(campaign)


@router.patch(
    "/v1/campaigns/{campaign_id}",
    response_model=CampaignPublic,
    summary="Change a campaign (coordinators of its jurisdiction)",
    responses=_problems(403, 404, 412, 422),
)
async def update_campaign(
    campaign_id: uuid.UUID,
    body: CampaignUpdate,
    request: Request,
    principal: Coordinator,
    session: SessionDep,
    response: Response,
) -> CampaignPublic:
    campaign = await campaigns.get_campaign_or_404(session, principal, campaign_id)
    check_if_match(request, campaign.version)
    campaign = await campaigns.update_campaign(session, principal, campaign, body)
    set_etag(response, campaign.version)
    return campaigns.to_public(campaign)


@router.get(
    "/v1/campaigns/{campaign_id}/summary",
    response_model=CampaignSummary,
    summary="Identified, reached, unreachable, visited, supported, monitored households and deadlines missed, "
    "by district, dong, source and dong × source; JSON, CSV or XLSX",
    responses={**_problems(403, 404), **campaigns.SUMMARY_RESPONSES},
)
async def campaign_summary(
    campaign_id: uuid.UUID,
    principal: Coordinator,
    session: SessionDep,
    request: Request,
    format: Annotated[
        Literal["json", "csv", "xlsx"] | None, Query(description="json (default), csv or xlsx; wins over Accept")
    ] = None,
) -> Any:
    campaign: Campaign = await campaigns.get_campaign_or_404(session, principal, campaign_id)
    return await campaigns.summary_response(
        session, principal, campaign, fmt=format, accept=request.headers.get("accept")
    )
