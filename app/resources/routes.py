"""``/v1/resources``: the resource catalog (``docs/care.md``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.access import gates
from app.core.deps import SessionDep
from app.core.http import CASEWORK_TEXTS, check_if_match, problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.resources import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.resources import service as resources
from app.resources.models import ResourceKind
from app.resources.schemas import ResourceCreate, ResourcePublic, ResourceUpdate

router = APIRouter(tags=["care"])

_TEXT = CASEWORK_TEXTS


@router.get(
    "/v1/resources",
    response_model=Page[ResourcePublic],
    summary="The resource catalog of your districts",
    responses=problems(403, texts=_TEXT),
)
async def list_resources(
    principal: gates.Staff,
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
    rows, next_cursor = await resources.list_page(
        session,
        principal,
        kind=kind,
        category=category,
        provider_organization_id=provider_organization_id,
        active=active,
        available=available,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    names = await resources.provider_names(session, {r.provider_organization_id for r in rows})
    return Page(items=[resources.to_public(r, names) for r in rows], next_cursor=next_cursor)


@router.post(
    "/v1/resources",
    response_model=ResourcePublic,
    status_code=201,
    summary="Add a resource to the catalog (admins, coordinators)",
    responses=problems(403, 422, texts=_TEXT),
)
async def create_resource(
    body: ResourceCreate, principal: gates.Steward, session: SessionDep, response: Response
) -> ResourcePublic:
    resource = await resources.create_resource(session, principal, body)
    set_etag(response, resource.version)
    return await resources.public(session, resource)


@router.get(
    "/v1/resources/{resource_id}",
    response_model=ResourcePublic,
    summary="One resource",
    responses=problems(403, 404, texts=_TEXT),
)
async def get_resource(
    resource_id: uuid.UUID, principal: gates.Staff, session: SessionDep, response: Response
) -> ResourcePublic:
    resource = await resources.get_resource_or_404(session, principal, resource_id)
    set_etag(response, resource.version)
    return await resources.public(session, resource)


@router.patch(
    "/v1/resources/{resource_id}",
    response_model=ResourcePublic,
    summary="Change a resource: details, capacity, active (admins, coordinators)",
    responses=problems(403, 404, 412, 422, texts=_TEXT),
)
async def update_resource(
    resource_id: uuid.UUID,
    body: ResourceUpdate,
    request: Request,
    principal: gates.Steward,
    session: SessionDep,
    response: Response,
) -> ResourcePublic:
    resource = await resources.get_resource_or_404(session, principal, resource_id)
    check_if_match(request, resource.version)
    resource = await resources.update_resource(session, principal, resource, body)
    set_etag(response, resource.version)
    return await resources.public(session, resource)


@router.delete(
    "/v1/resources/{resource_id}",
    status_code=204,
    summary="Retire a resource (kept as a tombstone; its supports keep pointing at it)",
    responses=problems(403, 404, 412, texts=_TEXT),
)
async def delete_resource(
    resource_id: uuid.UUID, request: Request, principal: gates.Steward, session: SessionDep
) -> Response:
    resource = await resources.get_resource_or_404(session, principal, resource_id)
    check_if_match(request, resource.version)
    await resources.delete_resource(session, principal, resource)
    return Response(status_code=204)
