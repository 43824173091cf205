"""Every query of the visits domain: visits, teams, transitions and facilities (``docs/architecture.md``, the
query layer). Row access comes from :mod:`app.access` (``visit_filter``, ``facility_filter``), never written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, select

from app.auth.models import Organization, User
from app.core.repository import Repository
from app.visits.models import FINISHED, Facility, Visit, VisitAssignee, VisitPurpose, VisitStatus, VisitTransition


class VisitRepository(Repository[Visit]):
    model = Visit

    def listing(
        self,
        reach: ColumnElement[bool],
        *,
        now: datetime,
        assignee_id: uuid.UUID | None = None,
        status: Sequence[VisitStatus] | None = None,
        overdue: bool | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        household_id: uuid.UUID | None = None,
        household_hidden: bool = False,
        facility_id: uuid.UUID | None = None,
        campaign_id: uuid.UUID | None = None,
        purpose: VisitPurpose | None = None,
        dong_code: str | None = None,
    ) -> Select[tuple[Visit]]:
        """The live visits ``reach`` admits, with the list's filters. ``household_hidden``: the caller may not
        learn which of their visits are for ``household_id`` (no row at all)."""
        stmt = select(Visit).where(Visit.deleted_at.is_(None), reach)
        if assignee_id is not None:
            stmt = stmt.where(
                Visit.id.in_(
                    select(VisitAssignee.visit_id).where(
                        VisitAssignee.user_id == assignee_id, VisitAssignee.ended_at.is_(None)
                    )
                )
            )
        if status:
            stmt = stmt.where(Visit.status.in_(status))
        if overdue is not None:
            late = and_(Visit.window_end < now, Visit.status.not_in(list(FINISHED)))
            stmt = stmt.where(late if overdue else ~late)
        if start is not None:
            stmt = stmt.where(Visit.window_end >= start)
        if end is not None:
            stmt = stmt.where(Visit.window_start < end)
        if household_id is not None:
            stmt = stmt.where(Visit.household_id == household_id)
            if household_hidden:
                stmt = stmt.where(false())
        if facility_id is not None:
            stmt = stmt.where(Visit.facility_id == facility_id)
        if campaign_id is not None:
            stmt = stmt.where(Visit.campaign_id == campaign_id)
        if purpose is not None:
            stmt = stmt.where(Visit.purpose == purpose)
        if dong_code is not None:
            stmt = stmt.where(Visit.dong_code.like(f"{dong_code}%"))
        return stmt

    async def by_window(self, stmt: Select[Any], *, limit: int, cursor: str | None) -> tuple[list[Visit], str | None]:
        """A page of ``stmt`` by the start of the window (window_start, id)."""
        return await self.page(stmt, order=(Visit.window_start, Visit.id), limit=limit, cursor=cursor)

    async def transitions(
        self, visit_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[list[VisitTransition], str | None]:
        """A page of a visit's status history, oldest first."""
        return await self.page(
            select(VisitTransition).where(VisitTransition.visit_id == visit_id),
            order=(VisitTransition.created_at, VisitTransition.id),
            limit=limit,
            cursor=cursor,
        )

    # --- teams -------------------------------------------------------------------------------------------------

    async def active_teams(self, visit_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
        """(assignee, user, organization) of every active assignment of these visits, lead first."""
        return await self.rows(
            select(VisitAssignee, User, Organization)
            .join(User, User.id == VisitAssignee.user_id)
            .join(Organization, Organization.id == VisitAssignee.organization_id)
            .where(VisitAssignee.visit_id.in_(list(visit_ids)), VisitAssignee.ended_at.is_(None))
            .order_by(VisitAssignee.lead.desc(), VisitAssignee.created_at, VisitAssignee.id)
        )

    async def users_with_organizations(
        self, user_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[User, Organization]]:
        rows = await self.rows(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id.in_(list(user_ids)))
        )
        return {user.id: (user, org) for user, org in rows}

    async def assignments(self, visit_id: uuid.UUID) -> list[VisitAssignee]:
        """Every assignment of the visit, ended ones too."""
        return await self.all(select(VisitAssignee).where(VisitAssignee.visit_id == visit_id))

    async def active_assignee_ids(self, visit_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.rows(
            select(VisitAssignee.user_id)
            .where(VisitAssignee.visit_id == visit_id, VisitAssignee.ended_at.is_(None))
            .order_by(VisitAssignee.lead.desc(), VisitAssignee.created_at)
        )
        return [uid for (uid,) in rows]

    # --- checklists ----------------------------------------------------------------------------------------------


class FacilityRepository(Repository[Facility]):
    model = Facility

    def listing(
        self,
        reach: ColumnElement[bool],
        *,
        kind: str | None = None,
        active: bool | None = None,
        dong_code: str | None = None,
        name_contains: str | None = None,
    ) -> Select[tuple[Facility]]:
        stmt = select(Facility).where(reach)
        if kind is not None:
            stmt = stmt.where(Facility.kind == kind)
        if active is not None:
            stmt = stmt.where(Facility.active == active)
        if dong_code is not None:
            stmt = stmt.where(Facility.dong_code.like(f"{dong_code}%"))
        if name_contains is not None:
            escaped = name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(Facility.name.ilike(f"%{escaped}%", escape="\\"))
        return stmt

    async def by_created(
        self, stmt: Select[Any], *, limit: int, cursor: str | None
    ) -> tuple[list[Facility], str | None]:
        return await self.page(stmt, order=(Facility.created_at, Facility.id), limit=limit, cursor=cursor)
