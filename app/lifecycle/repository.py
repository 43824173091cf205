"""The listing of destruction records (``docs/architecture.md``, the query layer)."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.access.audit import destruction_filter
from app.core.principal import Principal
from app.core.repository import Repository
from app.lifecycle.models import DestructionRecord


class DestructionRepository(Repository[DestructionRecord]):
    model = DestructionRecord
    #: Newest first (``descending``).
    order = (DestructionRecord.destroyed_at, DestructionRecord.id)

    def readable(self, principal: Principal) -> Select[tuple[DestructionRecord]]:
        return select(DestructionRecord).where(destruction_filter(principal))
