"""The queries of contact attempts (``docs/architecture.md``, the query layer)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.contacts.models import ContactAttempt
from app.core.repository import Repository


class ContactAttemptRepository(Repository[ContactAttempt]):
    model = ContactAttempt

    async def latest_first(
        self, household_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[list[ContactAttempt], str | None]:
        """A page of a household's attempts, the latest made first (at, id)."""
        return await self.page(
            select(ContactAttempt).where(ContactAttempt.household_id == household_id),
            order=(ContactAttempt.at, ContactAttempt.id),
            limit=limit,
            cursor=cursor,
            descending=True,
        )

    async def outcomes_in_order(self, household_id: uuid.UUID) -> Sequence[Any]:
        """(at, method, outcome) of every attempt on the household, in the order they were made."""
        return await self.rows(
            select(ContactAttempt.at, ContactAttempt.method, ContactAttempt.outcome)
            .where(ContactAttempt.household_id == household_id)
            .order_by(ContactAttempt.at, ContactAttempt.created_at)
        )
