"""Queries of organizations, users and devices (``docs/architecture.md``, the query layer).

Which of them an admin manages is decided in :mod:`app.access.people`; these statements only fetch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import col

from app.auth.models import Device, Organization, User
from app.core.principal import Role
from app.core.repository import Repository


class OrganizationRepository(Repository[Organization]):
    model = Organization

    async def all_by_name(self) -> list[Organization]:
        return await self.all(self.select().order_by(col(Organization.name)))


class UserRepository(Repository[User]):
    model = User

    async def areas_in(self, org_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
        """(id, own jurisdiction, organization id) of the users of the organizations ``org_ids``."""
        return await self.rows(
            select(col(User.id), col(User.jurisdiction), col(User.organization_id)).where(
                col(User.organization_id).in_(list(org_ids))
            )
        )

    async def username_taken(self, username: str) -> bool:
        return await self.scalar(select(col(User.id)).where(col(User.username) == username)) is not None

    def listed(
        self,
        ids: Sequence[uuid.UUID],
        *,
        organization_id: uuid.UUID | None,
        role: Role | None,
        active: bool | None,
    ) -> Select[tuple[User]]:
        """The users of ``ids``, narrowed by the list's query parameters."""
        stmt = self.select().where(col(User.id).in_(list(ids)))
        if organization_id is not None:
            stmt = stmt.where(col(User.organization_id) == organization_id)
        if role is not None:
            stmt = stmt.where(col(User.role) == role)  # access: the ?role= filter the caller chose, not a decision
        if active is not None:
            stmt = stmt.where(col(User.active) == active)
        return stmt

    async def users_page(self, stmt: Select[Any], *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
        return await self.page(stmt, order=(User.created_at, User.id), limit=limit, cursor=cursor)


class DeviceRepository(Repository[Device]):
    model = Device

    def listed(
        self, user_ids: Sequence[uuid.UUID] | None, *, own: uuid.UUID, user_id: uuid.UUID | None, revoked: bool | None
    ) -> Select[tuple[Device]]:
        """Devices of ``user_ids`` (an admin's people), or of ``own`` alone when ``user_ids`` is None."""
        stmt = self.select()
        stmt = (
            stmt.where(col(Device.user_id).in_(list(user_ids)))
            if user_ids is not None
            else stmt.where(col(Device.user_id) == own)
        )
        if user_id is not None:
            stmt = stmt.where(col(Device.user_id) == user_id)
        if revoked is not None:
            stmt = stmt.where(col(Device.revoked_at).is_not(None) if revoked else col(Device.revoked_at).is_(None))
        return stmt

    async def devices_page(self, stmt: Select[Any], *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
        return await self.page(stmt, order=(Device.created_at, Device.id), limit=limit, cursor=cursor)
