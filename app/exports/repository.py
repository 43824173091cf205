"""The page statement of each export kind, and the name lookups of the spreadsheets (``docs/architecture.md``,
the query layer).

Every kind pages by its immutable key (``created_at``, ``id``) with the one keyset pager; which rows the caller
reaches is the access policy's clause, handed in (``visit_filter``, ``household_filter``, the support view's).
The domains' models are imported when asked: a build without a domain has no export of it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select

from app.access.policy import codes_clause
from app.core.repository import Repository
from app.exports.filters import Filters

Page = tuple[list[Any], str | None]


class ExportRepository(Repository[Any]):
    """Queries of several models (one per kind); ``model`` is not used."""

    async def _page(self, stmt: Any, model: Any, cursor: str | None, limit: int) -> Page:
        return await self.page(stmt, order=(model.created_at, model.id), limit=limit, cursor=cursor)

    @staticmethod
    def _filtered(stmt: Any, model: Any, when: Any, filters: Filters) -> Any:
        """``stmt`` narrowed by the filters every dated kind shares: ``from``/``to`` on the column ``when``, the
        dong, the status."""
        if filters.start is not None:
            stmt = stmt.where(when >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(when < filters.end)
        if filters.dong_code:
            stmt = stmt.where(codes_clause(model.dong_code, [filters.dong_code]))
        if filters.status:
            stmt = stmt.where(model.status == filters.status)
        return stmt

    async def visits(self, clause: ColumnElement[bool], filters: Filters, cursor: str | None, limit: int) -> Page:
        """Visits not deleted within ``clause``: ``from``/``to`` bound the window's start."""
        from app.visits.models import Visit

        live = select(Visit).where(Visit.deleted_at.is_(None), clause)
        stmt = self._filtered(live, Visit, Visit.window_start, filters)
        if filters.campaign_id:
            stmt = stmt.where(Visit.campaign_id == filters.campaign_id)
        return await self._page(stmt, Visit, cursor, limit)

    async def supports(self, clause: ColumnElement[bool], filters: Filters, cursor: str | None, limit: int) -> Page:
        """Supports within ``clause`` (the caller's support view): ``from``/``to`` bound their creation."""
        from app.supports.models import Support

        stmt = self._filtered(select(Support).where(clause), Support, Support.created_at, filters)
        return await self._page(stmt, Support, cursor, limit)

    async def campaigns(self, filters: Filters, cursor: str | None, limit: int) -> Page:
        """Campaigns overlapping ``from``/``to`` (which of them the caller sees, ``app.campaigns.service.visible``
        decides on each)."""
        from app.campaigns.models import Campaign

        stmt = select(Campaign)
        if filters.start is not None:
            stmt = stmt.where(Campaign.ends_on >= filters.start.date())
        if filters.end is not None:
            stmt = stmt.where(Campaign.starts_on < filters.end.date() + timedelta(days=1))
        if filters.status:
            stmt = stmt.where(Campaign.active.is_(filters.status == "active"))
        if filters.campaign_id:
            stmt = stmt.where(Campaign.id == filters.campaign_id)
        return await self._page(stmt, Campaign, cursor, limit)

    async def households(self, clause: ColumnElement[bool], filters: Filters, cursor: str | None, limit: int) -> Page:
        """Households within ``clause`` (``household_filter``): ``from``/``to`` bound their registration."""
        from app.households.models import Household

        stmt = self._filtered(select(Household).where(clause), Household, Household.created_at, filters)
        return await self._page(stmt, Household, cursor, limit)

    async def names(self, model: Any, ids: list[uuid.UUID], column: str = "name") -> dict[str, str]:
        """``{str(id): value of column}`` of the rows of ``model`` among ``ids``, 500 ids a statement."""
        out: dict[str, str] = {}
        col = getattr(model, column)
        for i in range(0, len(ids), 500):
            rows = await self.rows(select(model.id, col).where(model.id.in_(ids[i : i + 500])))
            out.update({str(k): v for k, v in rows})
        return out
