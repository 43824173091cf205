"""Area names by code. A code without a stored name is shown as itself."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import AdminArea


async def area_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """``{code: name}`` for every code given (the code itself when no name is stored)."""
    wanted = sorted(set(codes))
    found: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        rows = await session.execute(
            select(AdminArea.code, AdminArea.name).where(AdminArea.code.in_(wanted[i : i + 500]))
        )
        found.update(dict(rows.all()))
    return {code: found.get(code, code) for code in wanted}


async def set_area_names(session: AsyncSession, names: dict[str, str]) -> None:
    """Store or rename areas (the demo seed and tests use it)."""
    for code, name in names.items():
        row = await session.get(AdminArea, code)
        if row is None:
            session.add(AdminArea(code=code, name=name))
        else:
            row.name = name
    await session.flush()
