"""Supports on the phone (``docs/sync.md``): the supports of the households the device holds (so of consented
households only, for a partner), tombstones sent as ``delete``. The phone keeps its own shape of a support
(``SupportChange`` of the sync document), not REST's ``SupportPublic``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.times import rfc3339
from app.supports.models import Support
from app.supports.repository import SupportRepository


async def _support_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    if not ctx.household_ids:
        return {}
    rows = await ctx.rows(session, "support", SupportRepository(session).on_phones(ctx.household_ids), Support.id)
    return {sid: Item(version, hid) for sid, version, hid in rows}


async def _support_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = await SupportRepository(session).by_ids(ids)
    return {
        s.id: {
            "id": str(s.id),
            "version": s.version,
            "household_id": str(s.household_id),
            "resource_id": str(s.resource_id),
            "case_id": str(s.case_id) if s.case_id else None,
            "visit_id": str(s.visit_id) if s.visit_id else None,
            "status": s.status.value,
            "amount": s.amount,
            "period_start": rfc3339(s.period_start),
            "period_end": rfc3339(s.period_end),
            "provider_organization_id": str(s.provider_organization_id),
            "reason": s.reason,
            "status_changed_at": rfc3339(s.status_changed_at),
            "created_at": rfc3339(s.created_at),
            "updated_at": rfc3339(s.updated_at),
        }
        for s in rows
    }


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [SyncEntity("support", _support_scope, _support_load, Support, after=("household",), content=True)]
