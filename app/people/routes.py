"""``/v1/organizations``, ``/v1/users``, ``/v1/devices`` (administration; ``docs/access.md``, "Administration")."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.access import gates
from app.access import people as access
from app.auth.deps import CurrentPrincipal
from app.auth.models import Role
from app.core.deps import SessionDep, StateDep
from app.core.errors import NotFound
from app.core.etag import check_if_match, set_etag
from app.core.openapi import problems
from app.core.pagination import CursorQuery, LimitQuery, Page
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

router = APIRouter(tags=["people"])


@router.get("/v1/organizations", response_model=Page[OrganizationPublic], summary="Organizations you manage")
async def list_organizations(principal: gates.Admin, session: SessionDep) -> Page[OrganizationPublic]:
    orgs = await manageable_orgs(session, principal)
    return Page(items=[OrganizationPublic.model_validate(o) for o in orgs])


@router.post(
    "/v1/organizations", response_model=OrganizationPublic, status_code=201, summary="Register a partner organization"
)
async def create_organization(
    body: OrganizationCreate, principal: gates.Admin, state: StateDep, session: SessionDep, response: Response
) -> OrganizationPublic:
    org = await PeopleService(state, session, principal).create_org(body)
    set_etag(response, org.version)
    return OrganizationPublic.model_validate(org)


@router.get("/v1/organizations/{org_id}", response_model=OrganizationPublic)
async def get_organization(
    org_id: uuid.UUID, principal: gates.Admin, session: SessionDep, response: Response
) -> OrganizationPublic:
    org = await get_manageable_org(session, principal, org_id)
    set_etag(response, org.version)
    return OrganizationPublic.model_validate(org)


@router.patch("/v1/organizations/{org_id}", response_model=OrganizationPublic)
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


@router.get("/v1/users", response_model=Page[UserPublic], summary="Users of the organizations you manage")
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


@router.post(
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


@router.get("/v1/users/{user_id}", response_model=UserPublic)
async def get_user(
    user_id: uuid.UUID, principal: gates.Admin, state: StateDep, session: SessionDep, response: Response
) -> UserPublic:
    user = await PeopleService(state, session, principal).get_user(user_id)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.patch(
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


@router.get(
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


@router.get("/v1/devices/{device_id}", response_model=DevicePublic)
async def get_device(
    device_id: uuid.UUID, principal: CurrentPrincipal, state: StateDep, session: SessionDep
) -> DevicePublic:
    device = await PeopleService(state, session, principal).get_device(device_id)
    return DevicePublic.model_validate(device)


@router.post(
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
