"""The queries of supports and their history (``docs/architecture.md``, the query layer). Which supports a
caller reaches is :func:`app.access.supports.support_view`'s clause, passed in as ``within``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, select

from app.auth.models import Organization
from app.core.repository import Repository
from app.supports.models import Support, SupportHistory, SupportStatus

OPEN_STATUSES = (SupportStatus.proposed, SupportStatus.requested, SupportStatus.approved)


class SupportRepository(Repository[Support]):
    model = Support

    def listing(
        self,
        within: ColumnElement[bool],
        *,
        household_id: uuid.UUID | None = None,
        status: Sequence[SupportStatus] | None = None,
        resource_id: uuid.UUID | None = None,
        case_id: uuid.UUID | None = None,
        visit_id: uuid.UUID | None = None,
        provider_organization_id: uuid.UUID | None = None,
    ) -> Select[tuple[Support]]:
        stmt = select(Support).where(within)
        for column, value in (
            (Support.household_id, household_id),
            (Support.resource_id, resource_id),
            (Support.case_id, case_id),
            (Support.visit_id, visit_id),
            (Support.provider_organization_id, provider_organization_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if status:
            stmt = stmt.where(Support.status.in_(status))
        return stmt

    async def readable(self, support_id: uuid.UUID, within: ColumnElement[bool]) -> Support | None:
        return await self.one_or_none(select(Support).where(Support.id == support_id, within))  # type: ignore[no-any-return]

    async def by_ids(self, ids: list[uuid.UUID]) -> list[Support]:
        return await self.all(select(Support).where(Support.id.in_(ids)))

    async def open_of_resource(self, household_id: uuid.UUID, resource_id: uuid.UUID) -> uuid.UUID | None:
        """An open support of the same resource for the household (a hard duplicate)."""
        row = (
            await self.session.execute(
                select(Support.id).where(
                    Support.household_id == household_id,
                    Support.resource_id == resource_id,
                    Support.status.in_(OPEN_STATUSES),
                    Support.deleted_at.is_(None),
                )
            )
        ).first()
        return row[0] if row is not None else None

    async def of_household(self, household_id: uuid.UUID) -> list[Support]:
        """The live supports of a household, oldest first (its ledger)."""
        return await self.all(
            select(Support)
            .where(Support.household_id == household_id, Support.deleted_at.is_(None))
            .order_by(Support.created_at, Support.id)
        )

    def history(self, support_id: uuid.UUID) -> Select[tuple[SupportHistory]]:
        return select(SupportHistory).where(SupportHistory.support_id == support_id)

    async def organization_names(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        return dict(await self.rows(select(Organization.id, Organization.name).where(Organization.id.in_(list(ids)))))

    def on_phones(self, household_ids: set[uuid.UUID]) -> Select[tuple[uuid.UUID, int, uuid.UUID]]:
        """Ids, versions and households of the live supports of ``household_ids`` (a phone's scope)."""
        return select(Support.id, Support.version, Support.household_id).where(
            Support.household_id.in_(list(household_ids)), Support.deleted_at.is_(None)
        )
