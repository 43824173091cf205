"""``emit()``: queue an event in the current transaction; it is written, numbered, at commit
(:func:`app.journal.changes.number_changes`; docs/integrations.md for the webhooks that deliver it)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.uow import journal_of


def emit(
    session: AsyncSession,
    type_: str,
    payload: dict[str, Any],
    *,
    household_id: uuid.UUID | None = None,
    district_code: str | None = None,
) -> None:
    from app.events.models import EVENT_TYPES

    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    journal_of(session).events.append(
        {
            "id": uuid.uuid4(),
            "type": type_,
            "payload": payload,
            "household_id": household_id,
            "district_code": district_code,
            "occurred_at": utcnow(),
        }
    )
