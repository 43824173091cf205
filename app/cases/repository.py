"""The queries of integrated cases, their teams and stage history (``docs/architecture.md``, the query
layer). Which cases a caller reaches is :func:`app.access.policy.case_filter`, passed in as ``within``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from app.auth.models import Organization, User
from app.cases.models import Case, CaseMember, CaseStage, CaseStageChange
from app.core.principal import OrgKind
from app.core.repository import Repository


class CaseRepository(Repository[Case]):
    model = Case

    def listing(
        self,
        within: ColumnElement[bool],
        today: date,
        *,
        household_id: uuid.UUID | None = None,
        stage: Sequence[CaseStage] | None = None,
        manager_id: uuid.UUID | None = None,
        overdue: bool | None = None,
        open: bool | None = None,
    ) -> Select[tuple[Case]]:
        stmt = select(Case).where(Case.deleted_at.is_(None), within)
        if household_id is not None:
            stmt = stmt.where(Case.household_id == household_id)
        if stage:
            stmt = stmt.where(Case.stage.in_(stage))
        if manager_id is not None:
            stmt = stmt.where(Case.manager_id == manager_id)
        if overdue is True:
            stmt = stmt.where(Case.closed_at.is_(None), Case.next_due_on < today)
        elif overdue is False:
            stmt = stmt.where(or_(Case.closed_at.is_not(None), Case.next_due_on.is_(None), Case.next_due_on >= today))
        if open is True:
            stmt = stmt.where(Case.closed_at.is_(None))
        elif open is False:
            stmt = stmt.where(Case.closed_at.is_not(None))
        return stmt

    def history(self, case_id: uuid.UUID) -> Select[tuple[CaseStageChange]]:
        return select(CaseStageChange).where(CaseStageChange.case_id == case_id)

    async def open_of_household(self, household_id: uuid.UUID) -> uuid.UUID | None:
        row = (
            await self.session.execute(
                select(Case.id).where(
                    Case.household_id == household_id, Case.closed_at.is_(None), Case.deleted_at.is_(None)
                )
            )
        ).first()
        return row[0] if row is not None else None

    async def by_ids(self, ids: list[uuid.UUID]) -> list[Case]:
        return await self.all(select(Case).where(Case.id.in_(ids)))

    async def members_with_people(self, case_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
        """(member, user, organization) of the cases' teams, oldest membership first."""
        return await self.rows(
            select(CaseMember, User, Organization)
            .join(User, User.id == CaseMember.user_id)
            .join(Organization, Organization.id == CaseMember.organization_id)
            .where(CaseMember.case_id.in_(list(case_ids)))
            .order_by(CaseMember.created_at, CaseMember.id)
        )

    async def member(self, case_id: uuid.UUID, user_id: uuid.UUID, *, active: bool = False) -> CaseMember | None:
        stmt = select(CaseMember).where(CaseMember.case_id == case_id, CaseMember.user_id == user_id)
        if active:
            stmt = stmt.where(CaseMember.ended_at.is_(None))
        return await self.one_or_none(stmt)  # type: ignore[no-any-return]

    async def active_private_members(self, case_id: uuid.UUID) -> list[CaseMember]:
        """The team's members from private organizations whose membership has not ended (closing ends them)."""
        return await self.all(
            select(CaseMember)
            .join(Organization, Organization.id == CaseMember.organization_id)
            .where(
                CaseMember.case_id == case_id,
                CaseMember.ended_at.is_(None),
                Organization.kind == OrgKind.private,
            )
        )

    # --- what phones hold ---------------------------------------------------------------------------------

    def on_phone_of(self, user_id: uuid.UUID) -> Select[tuple[uuid.UUID, int, uuid.UUID]]:
        """Ids, versions and households of the open cases ``user_id`` is on or manages."""
        mine = select(CaseMember.case_id).where(CaseMember.user_id == user_id, CaseMember.ended_at.is_(None))
        return select(Case.id, Case.version, Case.household_id).where(
            Case.deleted_at.is_(None),
            Case.closed_at.is_(None),
            or_(Case.id.in_(mine), Case.manager_id == user_id),
        )

    async def active_teams(self, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        teams: dict[uuid.UUID, list[str]] = {}
        for cid, uid in await self.rows(
            select(CaseMember.case_id, CaseMember.user_id).where(
                CaseMember.case_id.in_(case_ids), CaseMember.ended_at.is_(None)
            )
        ):
            teams.setdefault(cid, []).append(str(uid))
        return teams

    async def concerns(self, user_id: uuid.UUID, ids: list[Any], cases: list[Any], homes: list[Any]) -> bool:
        """Whether change notes naming ``ids`` (memberships or cases), ``cases`` and ``homes`` (households)
        concern ``user_id`` through their cases: they are (or were) on the case's team, manage it, or are on a
        case of the household."""
        probes = [
            select(CaseMember.id).where(
                CaseMember.user_id == user_id, or_(CaseMember.id.in_(ids), CaseMember.case_id.in_(cases))
            ),
            select(Case.id).where(Case.manager_id == user_id, or_(Case.id.in_(cases), Case.household_id.in_(homes))),
            select(Case.id)
            .join(CaseMember, CaseMember.case_id == Case.id)
            .where(CaseMember.user_id == user_id, Case.household_id.in_(homes)),
        ]
        for probe in probes:
            if (await self.session.execute(probe.limit(1))).first() is not None:
                return True
        return False
