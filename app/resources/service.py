"""The resource catalog (``docs/care.md``): public benefits and private resources, with remaining capacity.

* Read by every role in the field (admin, coordinator, planner, partner): the resources offered in the
  districts of their jurisdiction; managed by admins and coordinators, for those districts
  (:mod:`app.access.supports` decides both). A public benefit's provider is a public organization; a private
  resource's may be any organization.
* Capacity: ``remaining`` is taken one unit at a time when a support is approved, by a guarded
  ``UPDATE … SET remaining = remaining - 1 WHERE remaining >= 1``: two approvals of the last unit never
  both succeed (the second answers 409 ``resource-exhausted``), also on PostgreSQL under concurrency. A
  declined support that had taken a unit gives it back. ``remaining IS NULL`` means not capacity-limited.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import supports as access
from app.auth.models import Organization
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_problem
from app.core.principal import OrgKind, Principal
from app.journal import audit
from app.journal.changes import note_change
from app.resources.models import RESOURCE_CATEGORIES, Resource, ResourceKind
from app.resources.repository import ResourceRepository
from app.resources.schemas import ResourceCreate, ResourcePublic, ResourceUpdate


async def list_page(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    **filters: object,
) -> tuple[list[Resource], str | None]:
    """One page of the catalog the caller reaches (``filters``: :meth:`ResourceRepository.listing`'s)."""
    repo = ResourceRepository(session)
    stmt = repo.listing(access.resource_filter(principal), **filters)  # type: ignore[arg-type]
    return await repo.page(stmt, order=(Resource.created_at, Resource.id), limit=limit, cursor=cursor)


async def get_resource_or_404(session: AsyncSession, principal: Principal, resource_id: uuid.UUID) -> Resource:
    resource = await ResourceRepository(session).readable(resource_id, access.resource_filter(principal))
    if resource is None:
        raise NotFound()
    return resource


async def provider_names(session: AsyncSession, org_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await ResourceRepository(session).provider_names(org_ids)


async def resources_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Resource]:
    return await ResourceRepository(session).by_ids(ids)


def to_public(resource: Resource, names: dict[uuid.UUID, str]) -> ResourcePublic:
    """The one view of a resource: REST answers it and phones receive it (:mod:`app.resources.sync`)."""
    return ResourcePublic(
        id=resource.id,
        version=resource.version,
        name=resource.name,
        kind=resource.kind,
        category=resource.category,
        description=resource.description,
        provider_organization_id=resource.provider_organization_id,
        provider_name=names.get(resource.provider_organization_id),
        district_code=resource.district_code,
        eligibility=resource.eligibility,
        capacity=resource.capacity,
        remaining=resource.remaining,
        unit=resource.unit,
        default_amount=resource.default_amount,
        contact=resource.contact,
        active=resource.active,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
    )


async def public(session: AsyncSession, resource: Resource) -> ResourcePublic:
    """One resource as answered, with its provider's name."""
    return to_public(resource, await provider_names(session, {resource.provider_organization_id}))


def _check_category(kind: ResourceKind, category: str) -> None:
    allowed = RESOURCE_CATEGORIES[kind]
    if category not in allowed:
        raise field_problem("body.category", "care.unknown-category", kind=kind.value, allowed=", ".join(allowed))


def _require_manager(principal: Principal) -> None:
    if not access.may_manage_resources(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": ", ".join(r.value for r in access.RESOURCE_MANAGERS)})


async def create_resource(session: AsyncSession, principal: Principal, body: ResourceCreate) -> Resource:
    _require_manager(principal)
    if not access.may_place_resource(principal, body.district_code):
        raise field_problem("body.district_code", "care.outside-jurisdiction", code=body.district_code)
    _check_category(body.kind, body.category)
    provider = await session.get(Organization, body.provider_organization_id)
    if provider is None or not provider.active:
        raise field_problem("body.provider_organization_id", "care.unknown-organization")
    if body.kind == ResourceKind.public_benefit and provider.kind != OrgKind.public:
        raise field_problem("body.provider_organization_id", "care.public-benefit-provider")
    remaining = body.remaining if body.remaining is not None else body.capacity
    if remaining is not None and body.capacity is not None and remaining > body.capacity:
        raise field_problem("body.remaining", "care.remaining-over-capacity")
    resource = Resource(
        name=body.name,
        kind=body.kind,
        category=body.category,
        description=body.description,
        provider_organization_id=provider.id,
        district_code=body.district_code,
        eligibility=body.eligibility,
        capacity=body.capacity,
        remaining=remaining,
        unit=body.unit,
        default_amount=body.default_amount,
        contact=body.contact,
        active=body.active,
        created_by_id=principal.user_id,
    )
    session.add(resource)
    await session.flush()
    await audit.record(session, principal, "resource.create", entity="resource", entity_id=resource.id)
    return resource


async def update_resource(
    session: AsyncSession, principal: Principal, resource: Resource, body: ResourceUpdate
) -> Resource:
    _require_manager(principal)
    changes = body.model_dump(exclude_unset=True)
    if "category" in changes and changes["category"] is not None:
        _check_category(resource.kind, changes["category"])
    capacity = resource.capacity
    remaining = resource.remaining
    if "capacity" in changes:
        new_capacity = changes["capacity"]
        if new_capacity is None:
            remaining = None
        elif capacity is None:
            remaining = new_capacity if remaining is None else min(remaining, new_capacity)
        else:
            remaining = max(0, (remaining or 0) + new_capacity - capacity)
        capacity = new_capacity
    if "remaining" in changes:
        remaining = changes["remaining"]
    if remaining is not None and capacity is not None and remaining > capacity:
        raise field_problem("body.remaining", "care.remaining-over-capacity")
    for name in ("name", "category", "description", "eligibility", "unit", "default_amount", "contact", "active"):
        if name in changes and (changes[name] is not None or name in ("description", "eligibility", "contact")):
            setattr(resource, name, changes[name])
    resource.capacity = capacity
    resource.remaining = remaining
    await session.flush()
    await audit.record(
        session,
        principal,
        "resource.update",
        entity="resource",
        entity_id=resource.id,
        details={"fields": sorted(changes)},
    )
    return resource


async def delete_resource(session: AsyncSession, principal: Principal, resource: Resource) -> None:
    _require_manager(principal)
    resource.deleted_at = utcnow()
    resource.active = False
    await session.flush()
    await audit.record(session, principal, "resource.delete", entity="resource", entity_id=resource.id)


async def _refresh_and_note(session: AsyncSession, resource_id: uuid.UUID) -> Resource | None:
    resource = await ResourceRepository(session).refreshed(resource_id)
    if resource is not None:
        note_change(session, resource)  # a guarded UPDATE: the ORM did not see it
    return resource


async def take_unit(session: AsyncSession, resource_id: uuid.UUID) -> bool:
    """Take one unit of a capacity-limited resource. Returns whether a unit was taken (False: the resource
    has no capacity limit). Raises 409 ``resource-exhausted`` when none is left."""
    repo = ResourceRepository(session)
    if await repo.remaining(resource_id) is None:
        return False
    if not await repo.take_unit(resource_id):
        raise Conflict("resource-exhausted", "care.resource-exhausted", extra={"resource_id": str(resource_id)})
    await _refresh_and_note(session, resource_id)
    return True


async def give_back_unit(session: AsyncSession, resource_id: uuid.UUID) -> None:
    """Return one unit taken by an approval that was declined afterwards (never above capacity)."""
    if await ResourceRepository(session).give_back_unit(resource_id):
        await _refresh_and_note(session, resource_id)
