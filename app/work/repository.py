"""The queries of workload and reassignment that are not a kind's own (``app.work.kinds`` lists and moves items);
see ``docs/architecture.md`` (the query layer)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from app.access import work as access
from app.auth.models import Organization, User
from app.core.repository import Repository


class WorkRepository(Repository[User]):
    model = User

    async def users_with_orgs(
        self, ids: Iterable[uuid.UUID] | None = None, *, staff: bool = False
    ) -> list[tuple[User, Organization]]:
        """Users with their organizations: ``ids``, or (``staff``) every active user of a role that takes work."""
        stmt = select(User, Organization).join(Organization, Organization.id == User.organization_id)
        if ids is not None:
            stmt = stmt.where(User.id.in_(list(ids)))
        if staff:
            stmt = stmt.where(access.assignable_users())
        return [(u, o) for u, o in await self.rows(stmt)]

    async def user_ids_of_org(self, organization_id: uuid.UUID) -> list[uuid.UUID]:
        return await self.all(select(User.id).where(User.organization_id == organization_id))
