"""The resource catalog on the phone (``docs/sync.md``): reference data, the active catalog entries of the
districts the worker works in, rendered by the REST view (the document's ``ResourceChange.data`` is
``ResourcePublic``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.supports import resource_districts
from app.resources.models import Resource
from app.resources.repository import ResourceRepository
from app.resources.service import to_public


async def _resource_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    districts = resource_districts(ctx.principal)
    if not districts:
        return {}
    return {rid: Item(version) for rid, version in await ResourceRepository(session).live_ids_in(districts)}


async def _resource_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    repo = ResourceRepository(session)
    rows = list((await repo.by_ids(set(ids))).values())
    names = await repo.provider_names({r.provider_organization_id for r in rows})
    return {r.id: to_public(r, names).model_dump(mode="json") for r in rows}


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [SyncEntity("resource", _resource_scope, _resource_load, Resource, shared=True)]
