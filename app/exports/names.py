"""Names instead of ids, for the spreadsheets people open (dongs by ``app.areas``, users, organizations …)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.exports.repository import ExportRepository


async def dong_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    """Names of districts and dongs (``app.areas`` when installed; the code itself otherwise)."""
    codes = {c for c in codes if c}
    try:
        from app.areas.service import area_names
    except ImportError:  # pragma: no cover - areas not installed in this build
        return {code: code for code in codes}
    return await area_names(session, codes) if codes else {}


async def names(session: AsyncSession, model: Any, ids: set[Any], column: str = "name") -> dict[str, str]:
    """``{str(id): name}`` of the rows of ``model`` among ``ids`` (ids as text or UUIDs; blanks skipped)."""
    wanted = [uuid.UUID(str(i)) for i in ids if i]
    if not wanted:
        return {}
    return await ExportRepository(session).names(model, wanted, column)


def joined(values: list[Any]) -> str:
    return "; ".join(str(v) for v in values if v not in (None, ""))
