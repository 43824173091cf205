"""Queries of area names (``docs/architecture.md``, the query layer); who reads which: :mod:`app.access.areas`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col

from app.access import areas as access
from app.areas.models import AdminArea
from app.core.principal import Principal
from app.core.repository import Repository


class AreaRepository(Repository[AdminArea]):
    model = AdminArea

    async def readable_page(
        self, principal: Principal, *, limit: int, cursor: str | None
    ) -> tuple[list[Any], str | None]:
        """The areas of the caller's jurisdiction, by code, one keyset page."""
        stmt = self.select().where(access.area_filter(principal))
        return await self.page(stmt, order=(AdminArea.code,), limit=limit, cursor=cursor)

    async def of_codes(self, codes: Sequence[str]) -> list[AdminArea]:
        return await self.all(self.select().where(col(AdminArea.code).in_(list(codes))).order_by(col(AdminArea.code)))
