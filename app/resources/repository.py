"""The queries of the resource catalog (``docs/architecture.md``, the query layer)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, update

from app.auth.models import Organization
from app.core.db import utcnow
from app.core.repository import Repository
from app.resources.models import Resource, ResourceKind


class ResourceRepository(Repository[Resource]):
    model = Resource

    def listing(
        self,
        within: ColumnElement[bool],
        *,
        kind: ResourceKind | None = None,
        category: str | None = None,
        provider_organization_id: uuid.UUID | None = None,
        active: bool | None = None,
        available: bool | None = None,
        q: str | None = None,
    ) -> Select[tuple[Resource]]:
        """The catalog entries ``within`` reaches, narrowed by the list's filters."""
        stmt = select(Resource).where(within)
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
        return stmt

    async def readable(self, resource_id: uuid.UUID, within: ColumnElement[bool]) -> Resource | None:
        return await self.one_or_none(select(Resource).where(Resource.id == resource_id, within))  # type: ignore[no-any-return]

    async def by_ids(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Resource]:
        if not ids:
            return {}
        return {r.id: r for r in await self.all(select(Resource).where(Resource.id.in_(ids)))}

    async def provider_names(self, org_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not org_ids:
            return {}
        rows = await self.rows(select(Organization.id, Organization.name).where(Organization.id.in_(org_ids)))
        return {row[0]: row[1] for row in rows}

    async def remaining(self, resource_id: uuid.UUID) -> int | None:
        return (  # type: ignore[no-any-return]
            await self.session.execute(select(Resource.remaining).where(Resource.id == resource_id))
        ).scalar_one()

    async def take_unit(self, resource_id: uuid.UUID) -> bool:
        """The guarded ``UPDATE … SET remaining = remaining - 1 WHERE remaining >= 1``: whether it took one."""
        result: Any = await self.session.execute(
            update(Resource)
            .where(Resource.id == resource_id, Resource.remaining.is_not(None), Resource.remaining >= 1)
            .values(remaining=Resource.remaining - 1, version=Resource.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)

    async def give_back_unit(self, resource_id: uuid.UUID) -> bool:
        """One unit back, never above capacity: whether it went back."""
        result: Any = await self.session.execute(
            update(Resource)
            .where(
                Resource.id == resource_id,
                Resource.remaining.is_not(None),
                (Resource.capacity.is_(None)) | (Resource.remaining < Resource.capacity),
            )
            .values(remaining=Resource.remaining + 1, version=Resource.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)

    async def refreshed(self, resource_id: uuid.UUID) -> Resource | None:
        """The row as the database holds it now (after a guarded UPDATE the ORM did not see)."""
        return await self.one_or_none(  # type: ignore[no-any-return]
            select(Resource).where(Resource.id == resource_id).execution_options(populate_existing=True)
        )

    async def live_ids_in(self, districts: list[str]) -> list[tuple[uuid.UUID, int]]:
        """Ids and versions of the active catalog entries of ``districts`` (what phones hold)."""
        rows = await self.rows(
            select(Resource.id, Resource.version).where(
                Resource.district_code.in_(districts), Resource.active.is_(True), Resource.deleted_at.is_(None)
            )
        )
        return [(rid, version) for rid, version in rows]
