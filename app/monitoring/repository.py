"""The queries of monitoring plans (``docs/architecture.md``, the query layer). Which plans a caller reaches
comes from :mod:`app.access.monitoring`, passed in as ``within``."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization, User
from app.core.repository import Repository
from app.households.models import Household
from app.monitoring.models import MonitoringPlan
from app.visits.models import FINISHED, Visit


def due_clause(today: date) -> ColumnElement[bool]:
    """Active plans due on ``today`` or earlier."""
    return (MonitoringPlan.active.is_(True)) & (MonitoringPlan.next_due_on <= today)


class PlanRepository(Repository[MonitoringPlan]):
    model = MonitoringPlan

    def listing(
        self,
        within: ColumnElement[bool],
        today: date,
        *,
        household_id: uuid.UUID | None = None,
        owner_id: uuid.UUID | None = None,
        active: bool | None = None,
        due: bool | None = None,
    ) -> Select[tuple[MonitoringPlan]]:
        stmt = select(MonitoringPlan).where(within)
        if household_id is not None:
            stmt = stmt.where(MonitoringPlan.household_id == household_id)
        if owner_id is not None:
            stmt = stmt.where(MonitoringPlan.owner_id == owner_id)
        if active is not None:
            stmt = stmt.where(MonitoringPlan.active.is_(active))
        if due is True:
            stmt = stmt.where(due_clause(today))
        elif due is False:
            stmt = stmt.where(or_(MonitoringPlan.active.is_(False), MonitoringPlan.next_due_on > today))
        return stmt

    def due(self, today: date, within: ColumnElement[bool] | None = None) -> Select[tuple[MonitoringPlan]]:
        """The plans due on ``today`` (``within`` an area when given)."""
        clause = due_clause(today)
        if within is not None:
            clause = clause & within
        return select(MonitoringPlan).where(clause)

    async def readable(self, plan_id: uuid.UUID, within: ColumnElement[bool]) -> MonitoringPlan | None:
        return await self.one_or_none(select(MonitoringPlan).where(MonitoringPlan.id == plan_id, within))  # type: ignore[no-any-return]

    async def active_of_household(self, household_id: uuid.UUID) -> MonitoringPlan | None:
        return await self.one_or_none(  # type: ignore[no-any-return]
            select(MonitoringPlan)
            .where(MonitoringPlan.household_id == household_id, MonitoringPlan.active.is_(True))
            .order_by(MonitoringPlan.created_at)
            .limit(1)
        )

    async def household_of(self, reference: Any, row_id: uuid.UUID) -> uuid.UUID | None:
        """The household of the record a plan's reference names (``MonitoringPlan.support_id``: a support,
        ``MonitoringPlan.case_id``: a case), read through the foreign key the plan declares, so that monitoring
        imports neither supports nor cases (they start plans: they import monitoring)."""
        (key,) = reference.property.columns[0].foreign_keys
        target = key.column.table
        return await self.scalar(select(target.c.household_id).where(target.c.id == row_id))  # type: ignore[no-any-return]

    async def households(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Household]:
        return {h.id: h for h in await self.all(select(Household).where(Household.id.in_(ids)))}

    async def open_visits(self, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Of the visits ``ids``, those not finished nor deleted."""
        if not ids:
            return set()
        rows = await self.rows(
            select(Visit.id).where(Visit.id.in_(ids), Visit.status.not_in(list(FINISHED)), Visit.deleted_at.is_(None))
        )
        return {vid for (vid,) in rows}


async def user_with_org(session: AsyncSession, user_id: uuid.UUID) -> tuple[User, Organization] | None:
    """An active user of an active organization, with it (a plan's owner, a case's manager or member)."""
    row = (
        await session.execute(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == user_id, User.active.is_(True), Organization.active.is_(True))
        )
    ).first()
    return (row[0], row[1]) if row else None
