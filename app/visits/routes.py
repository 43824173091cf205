"""``/v1/visits`` (with teams and transitions) and ``/v1/facilities`` (DESIGN §2, §7.1)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import and_, false, or_, select

from app.access.policy import (
    PUBLIC_STAFF,
    facility_filter,
    get_facility_or_404,
    get_visit_or_404,
    partner_reach,
    role_gate,
    visit_filter,
    visit_household_visible,
)
from app.auth.models import Role
from app.auth.principal import Principal
from app.core.db import utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import FieldInvalid, field_problem
from app.core.etag import check_if_match, set_etag
from app.core.pagination import (
    CursorQuery,
    LimitQuery,
    Page,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    keyset_page,
)
from app.journal import audit
from app.visits import service
from app.visits.models import FINISHED, Facility, Visit, VisitAssignee, VisitPurpose, VisitStatus, VisitTransition
from app.visits.schemas import (
    FacilityCreate,
    FacilityPublic,
    FacilityUpdate,
    TeamUpdate,
    TransitionCreate,
    TransitionPublic,
    VisitCreate,
    VisitUpdate,
    VisitView,
)

router = APIRouter(tags=["visits"])

ReadVisits = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="visits:read"))]
FieldTeam = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner))]
Staff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner))]
ReadFacilities = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, Role.admin))]
ManageFacilities = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.admin))]

NOT_FOUND: dict[str, Any] = {"description": "No such record, or not one the caller may see"}
PRECONDITION: dict[str, Any] = {"description": "If-Match names another version"}
VALIDATION: dict[str, Any] = {"description": "Invalid input: `errors` lists each field"}
FINISHED_409: dict[str, Any] = {"description": "The visit is finished"}


async def _one_view(session: Any, principal: Principal, visit: Visit) -> Any:
    views = await service.visit_views(session, principal, [visit])
    await service.audit_visit_reads(session, principal, [visit], views)
    return views[0]


#: What ``from``/``to`` and ``assignee`` take, said exactly, so that a client (or schemathesis) sends nothing the
#: list refuses.
_BOUND_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "enum": ["today"]},
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "null"},
    ]
}
_ASSIGNEE_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "enum": ["me"]}, {"type": "string", "format": "uuid"}, {"type": "null"}]
}


@router.get(
    "/v1/visits",
    response_model=Page[VisitView],
    summary="Visits the caller reaches: a worker's day is `assignee=me&from=today&to=today`",
    responses={422: {"description": "Bad filter (assignee, from, to)"}},
)
async def list_visits(
    principal: ReadVisits,
    state: StateDep,
    session: SessionDep,
    assignee: Annotated[
        str | None, Query(max_length=36, description="`me` or a user id", json_schema_extra=_ASSIGNEE_SCHEMA)
    ] = None,
    status: Annotated[list[VisitStatus] | None, Query(description="One or more statuses")] = None,
    overdue: bool | None = None,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=40,
            description="`today`, a date (local day) or a date-time: window ends after",
            json_schema_extra=_BOUND_SCHEMA,
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            max_length=40,
            description="`today`, a date (local day, inclusive) or a date-time: window starts before",
            json_schema_extra=_BOUND_SCHEMA,
        ),
    ] = None,
    household_id: uuid.UUID | None = None,
    facility_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    purpose: VisitPurpose | None = None,
    dong_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[Any]:
    now = utcnow()
    stmt = select(Visit).where(Visit.deleted_at.is_(None), visit_filter(principal))
    reach = await partner_reach(session, principal) if principal.role == Role.partner else None
    if assignee is not None:
        if assignee == "me":
            user_id = principal.user_id
        else:
            try:
                user_id = uuid.UUID(assignee)
            except ValueError as exc:
                raise field_problem("query.assignee", "visits.assignee-query") from exc
        stmt = stmt.where(
            Visit.id.in_(
                select(VisitAssignee.visit_id).where(VisitAssignee.user_id == user_id, VisitAssignee.ended_at.is_(None))
            )
        )
    if status:
        stmt = stmt.where(Visit.status.in_(status))
    if overdue is not None:
        late = and_(Visit.window_end < now, Visit.status.not_in(list(FINISHED)))
        stmt = stmt.where(late if overdue else ~late)
    tz = state.settings.tz
    start = service.parse_bound(from_, field="query.from", end=False, tz=tz)
    end = service.parse_bound(to, field="query.to", end=True, tz=tz)
    if start is not None:
        stmt = stmt.where(Visit.window_end >= start)
    if end is not None:
        stmt = stmt.where(Visit.window_start < end)
    if household_id is not None:
        stmt = stmt.where(Visit.household_id == household_id)
        if reach is not None and not reach.household_visible(household_id):
            # A partner may not learn which of their visits is for a household no consent opens.
            stmt = stmt.where(false())
    if facility_id is not None:
        stmt = stmt.where(Visit.facility_id == facility_id)
    if campaign_id is not None:
        stmt = stmt.where(Visit.campaign_id == campaign_id)
    if purpose is not None:
        stmt = stmt.where(Visit.purpose == purpose)
    if dong_code is not None:
        stmt = stmt.where(Visit.dong_code.like(f"{dong_code}%"))
    if cursor:
        raw = decode_cursor(cursor)
        try:
            from datetime import datetime

            c_at, c_id = datetime.fromisoformat(raw[0]), uuid.UUID(raw[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
        stmt = stmt.where(or_(Visit.window_start > c_at, and_(Visit.window_start == c_at, Visit.id > c_id)))
    stmt = stmt.order_by(Visit.window_start.asc(), Visit.id.asc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].window_start, rows[-1].id])
    views = await service.visit_views(session, principal, rows, reach=reach)
    await service.audit_visit_reads(session, principal, rows, views)
    return Page(items=views, next_cursor=next_cursor)


@router.post(
    "/v1/visits",
    response_model=VisitView,
    status_code=201,
    summary="Schedule a visit to a household or facility of the jurisdiction, with its team",
    responses={422: VALIDATION},
)
async def create_visit(body: VisitCreate, principal: Staff, session: SessionDep, response: Response) -> Any:
    visit = await service.create_visit(session, principal, body)
    set_etag(response, visit.version)
    response.headers["Location"] = f"/v1/visits/{visit.id}"
    return (await service.visit_views(session, principal, [visit]))[0]


@router.get(
    "/v1/visits/{visit_id}",
    response_model=VisitView,
    summary="One visit (restricted for a partner without consent)",
    responses={404: NOT_FOUND},
)
async def get_visit(visit_id: uuid.UUID, principal: ReadVisits, session: SessionDep, response: Response) -> Any:
    visit = await get_visit_or_404(session, principal, visit_id)
    set_etag(response, visit.version)
    return await _one_view(session, principal, visit)


@router.patch(
    "/v1/visits/{visit_id}",
    response_model=VisitView,
    summary="Change a visit's window, purpose, campaign, checklists, photos, team or outcome (If-Match)",
    responses={404: NOT_FOUND, 409: FINISHED_409, 412: PRECONDITION, 422: VALIDATION},
)
async def patch_visit(
    visit_id: uuid.UUID,
    body: VisitUpdate,
    request: Request,
    principal: Staff,
    session: SessionDep,
    response: Response,
) -> Any:
    visit = await get_visit_or_404(session, principal, visit_id)
    check_if_match(request, visit.version)
    visit = await service.update_visit(session, principal, visit, body)
    await session.flush()
    set_etag(response, visit.version)
    return (await service.visit_views(session, principal, [visit]))[0]


@router.put(
    "/v1/visits/{visit_id}/assignees",
    response_model=VisitView,
    summary="Replace a visit's team (removed assignments are ended, not deleted; If-Match)",
    responses={404: NOT_FOUND, 409: FINISHED_409, 412: PRECONDITION, 422: VALIDATION},
)
async def put_assignees(
    visit_id: uuid.UUID,
    body: TeamUpdate,
    request: Request,
    principal: Staff,
    session: SessionDep,
    response: Response,
) -> Any:
    visit = await get_visit_or_404(session, principal, visit_id)
    check_if_match(request, visit.version)
    visit = await service.replace_team(session, principal, visit, list(body.assignees), body.lead_id)
    await session.flush()
    set_etag(response, visit.version)
    return (await service.visit_views(session, principal, [visit]))[0]


@router.post(
    "/v1/visits/{visit_id}/transitions",
    response_model=VisitView,
    summary="Change a visit's status (check-in, check-out, outcome)",
    responses={
        403: {"description": "Not on the team (or not public staff, to cancel)"},
        404: NOT_FOUND,
        409: {"description": "Not allowed from the current status; `allowed` lists what is"},
        412: PRECONDITION,
        422: VALIDATION,
    },
)
async def transition(
    visit_id: uuid.UUID,
    body: TransitionCreate,
    request: Request,
    principal: FieldTeam,
    session: SessionDep,
    response: Response,
) -> Any:
    visit = await get_visit_or_404(session, principal, visit_id)
    check_if_match(request, visit.version)
    visit = await service.transition_visit(
        session,
        principal,
        visit,
        body.to,
        outcome=body.outcome,
        device_at=body.at,
        location=body.location.model_dump(exclude_none=True) if body.location else None,
        reason=body.reason,
    )
    await session.flush()
    set_etag(response, visit.version)
    return await _one_view(session, principal, visit)


@router.get(
    "/v1/visits/{visit_id}/transitions",
    response_model=Page[TransitionPublic],
    summary="A visit's status history with device and server times",
    responses={404: NOT_FOUND},
)
async def list_transitions(
    visit_id: uuid.UUID,
    principal: FieldTeam,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[TransitionPublic]:
    visit = await get_visit_or_404(session, principal, visit_id)
    rows, next_cursor = await keyset_page(
        session,
        select(VisitTransition).where(VisitTransition.visit_id == visit.id),
        created_col=VisitTransition.created_at,
        id_col=VisitTransition.id,
        limit=limit,
        cursor=cursor,
    )
    staff = principal.role in PUBLIC_STAFF
    open_household = await visit_household_visible(session, principal, visit)
    items = []
    for row in rows:
        out = TransitionPublic.model_validate(row)
        if not staff:
            out.location = None  # where the household lives: public staff only
        if not open_household:
            out.note = None
        items.append(out)
    return Page(items=items, next_cursor=next_cursor)


# --- facilities --------------------------------------------------------------------------------------------------


@router.get("/v1/facilities", response_model=Page[FacilityPublic], summary="Welfare facilities of the caller's area")
async def list_facilities(
    principal: ReadFacilities,
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    active: bool | None = None,
    dong_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Name contains")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[FacilityPublic]:
    stmt = select(Facility).where(facility_filter(principal))
    if kind is not None:
        stmt = stmt.where(Facility.kind == kind)
    if active is not None:
        stmt = stmt.where(Facility.active == active)
    if dong_code is not None:
        stmt = stmt.where(Facility.dong_code.like(f"{dong_code}%"))
    if q is not None:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Facility.name.ilike(f"%{escaped}%", escape="\\"))
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=Facility.created_at, id_col=Facility.id, limit=limit, cursor=cursor
    )
    return Page(items=[FacilityPublic.model_validate(f) for f in rows], next_cursor=next_cursor)


@router.post(
    "/v1/facilities",
    response_model=FacilityPublic,
    status_code=201,
    summary="Register a facility in the caller's jurisdiction (coordinators, admins)",
    responses={422: VALIDATION},
)
async def create_facility(
    body: FacilityCreate, principal: ManageFacilities, session: SessionDep, response: Response
) -> FacilityPublic:
    service.check_facility_area(principal, body.district_code, body.dong_code)
    facility = Facility(**body.model_dump())
    session.add(facility)
    await session.flush()
    await audit.record(session, principal, "facility.create", entity="facility", entity_id=facility.id)
    set_etag(response, facility.version)
    response.headers["Location"] = f"/v1/facilities/{facility.id}"
    return FacilityPublic.model_validate(facility)


@router.get(
    "/v1/facilities/{facility_id}", response_model=FacilityPublic, summary="One facility", responses={404: NOT_FOUND}
)
async def get_facility(
    facility_id: uuid.UUID, principal: ReadFacilities, session: SessionDep, response: Response
) -> FacilityPublic:
    facility = await get_facility_or_404(session, principal, facility_id)
    set_etag(response, facility.version)
    return FacilityPublic.model_validate(facility)


@router.patch(
    "/v1/facilities/{facility_id}",
    response_model=FacilityPublic,
    summary="Change a facility (If-Match)",
    responses={404: NOT_FOUND, 412: PRECONDITION, 422: VALIDATION},
)
async def patch_facility(
    facility_id: uuid.UUID,
    body: FacilityUpdate,
    request: Request,
    principal: ManageFacilities,
    session: SessionDep,
    response: Response,
) -> FacilityPublic:
    facility = await get_facility_or_404(session, principal, facility_id)
    check_if_match(request, facility.version)
    changes = body.model_dump(exclude_unset=True)
    required = [k for k in ("name", "kind", "district_code", "dong_code", "address", "active") if k in changes]
    missing = [(f"body.{k}", "households.required", {}) for k in required if changes[k] is None]
    if missing:
        raise FieldInvalid(missing)
    service.check_facility_area(
        principal, changes.get("district_code", facility.district_code), changes.get("dong_code", facility.dong_code)
    )
    for name, value in changes.items():
        if getattr(facility, name) != value:
            setattr(facility, name, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        "facility.update",
        entity="facility",
        entity_id=facility.id,
        details={"fields": sorted(changes)},
    )
    set_etag(response, facility.version)
    return FacilityPublic.model_validate(facility)


@router.delete(
    "/v1/facilities/{facility_id}",
    status_code=204,
    summary="Deactivate a facility (kept for the history of its visits)",
    responses={404: NOT_FOUND, 412: PRECONDITION},
)
async def delete_facility(
    facility_id: uuid.UUID, request: Request, principal: ManageFacilities, session: SessionDep
) -> Response:
    facility = await get_facility_or_404(session, principal, facility_id)
    check_if_match(request, facility.version)
    if facility.active:
        facility.active = False
        await session.flush()
        await audit.record(session, principal, "facility.deactivate", entity="facility", entity_id=facility.id)
    return Response(status_code=204)
