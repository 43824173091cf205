"""The queries of the audit trail's admin views: the event listing, sign-offs, and who the actors are
(``docs/architecture.md``, the query layer). Which events an admin reaches is :mod:`app.access.audit`'s."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from app.audit.models import AuditEvent, AuditReviewSignOff
from app.auth.models import Organization, User
from app.core.repository import Repository


class AuditRepository(Repository[AuditEvent]):
    model = AuditEvent
    #: Newest first (``descending``).
    order = (AuditEvent.at, AuditEvent.id)

    def events(
        self,
        scope: ColumnElement[bool],
        *,
        actor_id: uuid.UUID | None = None,
        household_id: uuid.UUID | None = None,
        action: str | None = None,
        result: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Select[tuple[AuditEvent]]:
        """Events within ``scope``; ``action`` exact, or a prefix when it ends in ``*``."""
        stmt = select(AuditEvent).where(scope)
        if actor_id is not None:
            stmt = stmt.where(AuditEvent.actor_id == actor_id)
        if household_id is not None:
            stmt = stmt.where(AuditEvent.household_id == household_id)
        if action is not None:
            if action.endswith("*"):
                stmt = stmt.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
            else:
                stmt = stmt.where(AuditEvent.action == action)
        if result is not None:
            stmt = stmt.where(AuditEvent.result == result)
        if start is not None:
            stmt = stmt.where(AuditEvent.at >= start)
        if end is not None:
            stmt = stmt.where(AuditEvent.at < end)
        return stmt

    async def sign_off(self, organization_id: uuid.UUID, month: str) -> tuple[AuditReviewSignOff, str] | None:
        """The month's sign-off of an organization with the signer's display name, or None."""
        rows = await self.rows(
            select(AuditReviewSignOff, User.display_name)
            .join(User, User.id == AuditReviewSignOff.signed_by_id)
            .where(AuditReviewSignOff.organization_id == organization_id, AuditReviewSignOff.month == month)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    async def users(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
        wanted = list(ids)
        if not wanted:
            return {}
        return {u.id: u for u in await self.all(select(User).where(User.id.in_(wanted)))}

    async def organization_names(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        wanted = list(ids)
        if not wanted:
            return {}
        return {o.id: o.name for o in await self.all(select(Organization).where(Organization.id.in_(wanted)))}
