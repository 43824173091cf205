"""Queries of accounts for authentication (``docs/architecture.md``, the query layer)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import col

from app.auth.models import Organization, User
from app.core.repository import Repository


class AccountRepository(Repository[User]):
    model = User

    async def with_organization(self, user_id: uuid.UUID) -> tuple[User, Organization] | None:
        """The user and its organization, in one statement."""
        row = (
            await self.session.execute(
                select(User, Organization)
                .join(Organization, col(Organization.id) == col(User.organization_id))
                .where(col(User.id) == user_id)
            )
        ).first()
        return (row[0], row[1]) if row else None
