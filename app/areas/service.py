"""Area names by code. A code without a stored name is shown as itself."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access import areas as access
from app.areas import messages as _messages  # noqa: F401  (registers the messages)
from app.areas.models import AdminArea
from app.areas.repository import AreaRepository
from app.core.errors import FieldInvalid
from app.core.principal import Principal
from app.journal import audit


async def area_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """``{code: name}`` for every code given (the code itself when no name is stored)."""
    wanted = sorted(set(codes))
    found: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        rows = await session.execute(
            select(col(AdminArea.code), col(AdminArea.name)).where(col(AdminArea.code).in_(wanted[i : i + 500]))
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


async def name_areas(session: AsyncSession, principal: Principal, names: dict[str, str]) -> list[AdminArea]:
    """An admin names or renames areas within its jurisdiction (422 naming every code outside it); audited."""
    outside = access.codes_outside(principal, names)
    if outside:
        raise FieldInvalid([(f"body.names.{code}", "areas.outside-jurisdiction", {"code": code}) for code in outside])
    await set_area_names(session, names)
    await audit.record(session, principal, "area.update", entity="area", details={"codes": sorted(names)})
    return await AreaRepository(session).of_codes(list(names))
