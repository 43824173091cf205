"""``/v1/organizations``, ``/v1/users``, ``/v1/devices`` (administration; ``docs/access.md``, "Administration")."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.access import gates
from app.access import people as access
from app.auth.deps import CurrentPrincipal
from app.core.deps import SessionDep, StateDep
from app.core.errors import NotFound
from app.core.http import check_if_match, problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.principal import Role
from app.journal import audit
from app.people.repository import DeviceRepository, UserRepository
from app.people.schemas import (
    DevicePublic,
    DeviceRevoke,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
    UserCreate,
    UserCreated,
    UserPublic,
    UserUpdate,
)
from app.people.service import PeopleService, get_manageable_org, manageable_orgs, manageable_user_ids
from app.sync.holdings import held_as_told, holdings_of
from app.sync.schemas import DeviceHoldings
from app.sync.state import state_and_seq

people = APIRouter(tags=["people"])
#: What a device holds is documented with sync (its records are the sync holdings).
holdings = APIRouter(tags=["sync"])


@people.get("/v1/organizations", response_model=Page[OrganizationPublic], summary="Organizations you manage")
async def list_organizations(principal: gates.Admin, session: SessionDep) -> Page[OrganizationPublic]:
    orgs = await manageable_orgs(session, principal)
    return Page(items=[OrganizationPublic.model_validate(o) for o in orgs])


@people.post(
    "/v1/organizations", response_model=OrganizationPublic, status_code=201, summary="Register a partner organization"
)
async def create_organization(
    body: OrganizationCreate, principal: gates.Admin, state: StateDep, session: SessionDep, response: Response
) -> OrganizationPublic:
    org = await PeopleService(state, session, principal).create_org(body)
    set_etag(response, org.version)
    return OrganizationPublic.model_validate(org)


@people.get("/v1/organizations/{org_id}", response_model=OrganizationPublic)
async def get_organization(
    org_id: uuid.UUID, principal: gates.Admin, session: SessionDep, response: Response
) -> OrganizationPublic:
    org = await get_manageable_org(session, principal, org_id)
    set_etag(response, org.version)
    return OrganizationPublic.model_validate(org)


@people.patch("/v1/organizations/{org_id}", response_model=OrganizationPublic)
async def update_organization(
    org_id: uuid.UUID,
    body: OrganizationUpdate,
    request: Request,
    principal: gates.Admin,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> OrganizationPublic:
    org = await get_manageable_org(session, principal, org_id)
    check_if_match(request, org.version)
    org = await PeopleService(state, session, principal).update_org(org, body)
    set_etag(response, org.version)
    return OrganizationPublic.model_validate(org)


@people.get("/v1/users", response_model=Page[UserPublic], summary="Users of the organizations you manage")
async def list_users(
    principal: gates.Admin,
    session: SessionDep,
    organization_id: uuid.UUID | None = None,
    role: Role | None = None,
    active: bool | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[UserPublic]:
    users = UserRepository(session)
    ids = await manageable_user_ids(session, principal)
    stmt = users.listed(ids, organization_id=organization_id, role=role, active=active)
    rows, next_cursor = await users.users_page(stmt, limit=limit, cursor=cursor)
    return Page(items=[UserPublic.model_validate(u) for u in rows], next_cursor=next_cursor)


@people.post(
    "/v1/users",
    response_model=UserCreated,
    status_code=201,
    summary="Create a user or integration client",
    responses=problems(404, s404="No such organization, or not one you manage"),
)
async def create_user(
    body: UserCreate, principal: gates.Admin, state: StateDep, session: SessionDep, response: Response
) -> UserCreated:
    user, secret = await PeopleService(state, session, principal).create_user(body)
    set_etag(response, user.version)
    return UserCreated.model_validate({**UserPublic.model_validate(user).model_dump(), "client_secret": secret})


@people.get("/v1/users/{user_id}", response_model=UserPublic)
async def get_user(
    user_id: uuid.UUID, principal: gates.Admin, state: StateDep, session: SessionDep, response: Response
) -> UserPublic:
    user = await PeopleService(state, session, principal).get_user(user_id)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@people.patch(
    "/v1/users/{user_id}",
    response_model=UserPublic,
    summary="Change a user (deactivating or changing the password ends their sessions)",
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    request: Request,
    principal: gates.Admin,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> UserPublic:
    service = PeopleService(state, session, principal)
    user = await service.get_user(user_id)
    check_if_match(request, user.version)
    user = await service.update_user(user, body)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@people.get(
    "/v1/devices", response_model=Page[DevicePublic], summary="Devices: an admin's organizations', or the caller's own"
)
async def list_devices(
    principal: CurrentPrincipal,
    session: SessionDep,
    user_id: uuid.UUID | None = None,
    revoked: Annotated[bool | None, Query()] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[DevicePublic]:
    devices = DeviceRepository(session)
    managed = await manageable_user_ids(session, principal) if access.manages_people(principal) else None
    stmt = devices.listed(managed, own=principal.user_id, user_id=user_id, revoked=revoked)
    rows, next_cursor = await devices.devices_page(stmt, limit=limit, cursor=cursor)
    return Page(items=[DevicePublic.model_validate(d) for d in rows], next_cursor=next_cursor)


@people.get("/v1/devices/{device_id}", response_model=DevicePublic)
async def get_device(
    device_id: uuid.UUID, principal: CurrentPrincipal, state: StateDep, session: SessionDep
) -> DevicePublic:
    device = await PeopleService(state, session, principal).get_device(device_id)
    return DevicePublic.model_validate(device)


@people.post(
    "/v1/devices/{device_id}/revoke",
    response_model=DevicePublic,
    summary="Revoke a (lost) device: its tokens stop at once and it is told to wipe",
)
async def revoke_device(
    device_id: uuid.UUID, body: DeviceRevoke, principal: gates.Admin, state: StateDep, session: SessionDep
) -> DevicePublic:
    service = PeopleService(state, session, principal)
    device = await service.get_device(device_id)
    if device.user_id == principal.user_id and not access.manages_people(principal):
        raise NotFound()
    device = await service.revoke_device(device, body.reason)
    return DevicePublic.model_validate(device)


@holdings.get(
    "/v1/devices/{device_id}/holdings",
    response_model=DeviceHoldings,
    summary="What a device holds (records sent and not yet purged): for a lost phone",
)
async def device_holdings(
    device_id: uuid.UUID, principal: gates.Admin, state: StateDep, session: SessionDep
) -> DeviceHoldings:
    device = await PeopleService(state, session, principal).get_device(device_id)
    st, _ = await state_and_seq(session, device.id)
    rows = await holdings_of(session, device.id)
    # What a phone holds names households and their records: reading it is audited (docs/access.md).
    await audit.record(
        session,
        principal,
        "device.holdings.read",
        entity="device",
        entity_id=device.id,
        details={"count": len(rows), "user_id": str(device.user_id)},
    )
    return DeviceHoldings(
        device_id=device.id,
        last_pull_at=st.last_pull_at if st else None,
        last_push_at=st.last_push_at if st else None,
        clock_skew_ms=st.clock_skew_ms if st else None,
        items=held_as_told(rows, st),
    )


router = APIRouter()
router.include_router(people)
router.include_router(holdings)
