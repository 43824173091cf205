"""Writing audit events, in the same transaction as the access they record."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.auth.principal import Principal
from app.core.db import utcnow


def _row(
    principal: Principal | None,
    action: str,
    *,
    entity: str | None,
    entity_id: uuid.UUID | None,
    household_id: uuid.UUID | None,
    purpose: str | None,
    result: str,
    address: str | None,
    details: dict[str, Any] | None,
    device_skew_ms: int | None,
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "at": now,
        "actor_id": principal.user_id if principal else None,
        "actor_role": principal.role.value if principal else None,
        "organization_id": principal.organization_id if principal else None,
        "device_id": principal.device_id if principal else None,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "household_id": household_id,
        "purpose": purpose,
        "address": address if address is not None else (principal.address if principal else None),
        "result": result,
        "details": details or {},
        "device_skew_ms": device_skew_ms,
    }


async def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    purpose: str | None = None,
    result: str = "ok",
    address: str | None = None,
    details: dict[str, Any] | None = None,
    device_skew_ms: int | None = None,
) -> None:
    """Append one audit event (flushed with the request's transaction)."""
    await session.execute(
        insert(AuditEvent),
        [
            _row(
                principal,
                action,
                entity=entity,
                entity_id=entity_id,
                household_id=household_id,
                purpose=purpose,
                result=result,
                address=address,
                details=details,
                device_skew_ms=device_skew_ms,
            )
        ],
    )


async def record_many(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    *,
    entity: str,
    items: list[tuple[uuid.UUID, uuid.UUID | None]],
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One event per (entity id, household id): for lists and sync pulls that send many records."""
    if not items:
        return
    rows = [
        _row(
            principal,
            action,
            entity=entity,
            entity_id=eid,
            household_id=hid,
            purpose=purpose,
            result="ok",
            address=None,
            details=details,
            device_skew_ms=None,
        )
        for eid, hid in items
    ]
    await session.execute(insert(AuditEvent), rows)
