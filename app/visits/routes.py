"""``/v1/visits`` (with teams and transitions) and ``/v1/facilities`` (``docs/architecture.md``).

Thin routes: the gate (:mod:`app.access.gates`), the record the caller may see (:mod:`app.access.policy`), the
service, and the one view (:mod:`app.visits.views`); every query is in :mod:`app.visits.repository`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.access import gates, policy
from app.access import visits as access
from app.core.db import utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import field_problem
from app.core.http import check_if_match, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.principal import Principal
from app.visits import facilities, service
from app.visits.models import Visit, VisitPurpose, VisitStatus
from app.visits.repository import FacilityRepository, VisitRepository
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
from app.visits.views import audit_visit_reads, visit_views

router = APIRouter(tags=["visits"])

NOT_FOUND: dict[str, Any] = {"description": "No such record, or not one the caller may see"}
PRECONDITION: dict[str, Any] = {"description": "If-Match names another version"}
VALIDATION: dict[str, Any] = {"description": "Invalid input: `errors` lists each field"}
FINISHED_409: dict[str, Any] = {"description": "The visit is finished"}


async def _one_view(session: Any, principal: Principal, visit: Visit) -> Any:
    views = await visit_views(session, principal, [visit])
    await audit_visit_reads(session, principal, [visit], views)
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
    principal: gates.VisitReaders,
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
    reach = await policy.partner_reach(session, principal) if access.needs_partner_reach(principal) else None
    user_id: uuid.UUID | None = None
    if assignee is not None:
        if assignee == "me":
            user_id = principal.user_id
        else:
            try:
                user_id = uuid.UUID(assignee)
            except ValueError as exc:
                raise field_problem("query.assignee", "visits.assignee-query") from exc
    tz = state.settings.tz
    start = service.parse_bound(from_, field="query.from", end=False, tz=tz)
    end = service.parse_bound(to, field="query.to", end=True, tz=tz)
    repository = VisitRepository(session)
    stmt = repository.listing(
        policy.visit_filter(principal),
        now=utcnow(),
        assignee_id=user_id,
        status=status,
        overdue=overdue,
        start=start,
        end=end,
        household_id=household_id,
        # A partner may not learn which of their visits is for a household no consent opens.
        household_hidden=household_id is not None and reach is not None and not reach.household_visible(household_id),
        facility_id=facility_id,
        campaign_id=campaign_id,
        purpose=purpose,
        dong_code=dong_code,
    )
    rows, next_cursor = await repository.by_window(stmt, limit=limit, cursor=cursor)
    views = await visit_views(session, principal, rows, reach=reach)
    await audit_visit_reads(session, principal, rows, views)
    return Page(items=views, next_cursor=next_cursor)


@router.post(
    "/v1/visits",
    response_model=VisitView,
    status_code=201,
    summary="Schedule a visit to a household or facility of the jurisdiction, with its team",
    responses={422: VALIDATION},
)
async def create_visit(body: VisitCreate, principal: gates.PublicStaff, session: SessionDep, response: Response) -> Any:
    visit = await service.create_visit(session, principal, body)
    set_etag(response, visit.version)
    response.headers["Location"] = f"/v1/visits/{visit.id}"
    return (await visit_views(session, principal, [visit]))[0]


@router.get(
    "/v1/visits/{visit_id}",
    response_model=VisitView,
    summary="One visit (restricted for a partner without consent)",
    responses={404: NOT_FOUND},
)
async def get_visit(visit_id: uuid.UUID, principal: gates.VisitReaders, session: SessionDep, response: Response) -> Any:
    visit = await policy.get_visit_or_404(session, principal, visit_id)
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
    principal: gates.PublicStaff,
    session: SessionDep,
    response: Response,
) -> Any:
    visit = await policy.get_visit_or_404(session, principal, visit_id)
    check_if_match(request, visit.version)
    visit = await service.update_visit(session, principal, visit, body)
    await session.flush()
    set_etag(response, visit.version)
    return (await visit_views(session, principal, [visit]))[0]


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
    principal: gates.PublicStaff,
    session: SessionDep,
    response: Response,
) -> Any:
    visit = await policy.get_visit_or_404(session, principal, visit_id)
    check_if_match(request, visit.version)
    visit = await service.replace_team(session, principal, visit, list(body.assignees), body.lead_id)
    await session.flush()
    set_etag(response, visit.version)
    return (await visit_views(session, principal, [visit]))[0]


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
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> Any:
    visit = await policy.get_visit_or_404(session, principal, visit_id)
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
    principal: gates.FieldStaff,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[TransitionPublic]:
    visit = await policy.get_visit_or_404(session, principal, visit_id)
    rows, next_cursor = await VisitRepository(session).transitions(visit.id, limit=limit, cursor=cursor)
    staff = access.sees_transition_locations(principal)
    open_household = await policy.visit_household_visible(session, principal, visit)
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
    principal: gates.Staff,
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    active: bool | None = None,
    dong_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Name contains")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[FacilityPublic]:
    repository = FacilityRepository(session)
    stmt = repository.listing(
        policy.facility_filter(principal), kind=kind, active=active, dong_code=dong_code, name_contains=q
    )
    rows, next_cursor = await repository.by_created(stmt, limit=limit, cursor=cursor)
    return Page(items=[FacilityPublic.model_validate(f) for f in rows], next_cursor=next_cursor)


@router.post(
    "/v1/facilities",
    response_model=FacilityPublic,
    status_code=201,
    summary="Register a facility in the caller's jurisdiction (coordinators, admins)",
    responses={422: VALIDATION},
)
async def create_facility(
    body: FacilityCreate, principal: gates.Steward, session: SessionDep, response: Response
) -> FacilityPublic:
    facility = await facilities.create_facility(session, principal, body)
    set_etag(response, facility.version)
    response.headers["Location"] = f"/v1/facilities/{facility.id}"
    return FacilityPublic.model_validate(facility)


@router.get(
    "/v1/facilities/{facility_id}", response_model=FacilityPublic, summary="One facility", responses={404: NOT_FOUND}
)
async def get_facility(
    facility_id: uuid.UUID, principal: gates.Staff, session: SessionDep, response: Response
) -> FacilityPublic:
    facility = await policy.get_facility_or_404(session, principal, facility_id)
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
    principal: gates.Steward,
    session: SessionDep,
    response: Response,
) -> FacilityPublic:
    facility = await policy.get_facility_or_404(session, principal, facility_id)
    check_if_match(request, facility.version)
    facility = await facilities.update_facility(session, principal, facility, body)
    set_etag(response, facility.version)
    return FacilityPublic.model_validate(facility)


@router.delete(
    "/v1/facilities/{facility_id}",
    status_code=204,
    summary="Deactivate a facility (kept for the history of its visits)",
    responses={404: NOT_FOUND, 412: PRECONDITION},
)
async def delete_facility(
    facility_id: uuid.UUID, request: Request, principal: gates.Steward, session: SessionDep
) -> Response:
    facility = await policy.get_facility_or_404(session, principal, facility_id)
    check_if_match(request, facility.version)
    await facilities.deactivate_facility(session, principal, facility)
    return Response(status_code=204)
