"""Every query of the households domain (``docs/architecture.md``, the query layer).

Statements are named for what they find; row access comes from :mod:`app.access` (the caller's
``household_filter``, the matching scope), never written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, case, cast, desc, select

from app.auth.models import Organization, User
from app.core.repository import Repository
from app.households.models import (
    Consent,
    ConsentForm,
    Household,
    HouseholdMerge,
    HouseholdSensitive,
    HouseholdStatus,
    Signal,
    SignalSource,
)


def tag_clause(tag: str) -> ColumnElement[bool]:
    """Households carrying ``tag``: tags come from a fixed vocabulary (validated), so a text match on the JSON
    array is exact."""
    return cast(Household.tags, String).like(f'%"{tag}"%')


class HouseholdRepository(Repository[Household]):
    model = Household

    # --- lists -------------------------------------------------------------------------------------------------

    def listing(
        self,
        reach: ColumnElement[bool],
        *,
        status: HouseholdStatus | None = None,
        risk_level: Any = None,
        dong_code: str | None = None,
        tag: str | None = None,
        recurrence: bool | None = None,
        search: ColumnElement[bool] | None = None,
        open_only: bool = False,
    ) -> Select[tuple[Household]]:
        """The households ``reach`` admits, with the list's filters (``search``: the text search's clause)."""
        stmt = select(Household).where(reach)
        if open_only:
            stmt = stmt.where(Household.status != HouseholdStatus.closed)
        if status is not None:
            stmt = stmt.where(Household.status == status)
        if risk_level is not None:
            stmt = stmt.where(Household.risk_level == risk_level)
        if dong_code is not None:
            stmt = stmt.where(Household.dong_code.like(f"{dong_code}%"))
        if tag is not None:
            stmt = stmt.where(tag_clause(tag))
        if search is not None:
            stmt = stmt.where(search)
        if recurrence is not None:
            stmt = stmt.where(Household.recurrence_at.is_not(None) if recurrence else Household.recurrence_at.is_(None))
        return stmt

    async def by_created(
        self, stmt: Select[Any], *, limit: int, cursor: str | None
    ) -> tuple[list[Household], str | None]:
        """A page of ``stmt`` oldest first (created_at, id)."""
        return await self.page(stmt, order=(Household.created_at, Household.id), limit=limit, cursor=cursor)

    async def by_priority(
        self, stmt: Select[Any], *, limit: int, cursor: str | None
    ) -> tuple[list[Household], str | None]:
        """A page of ``stmt`` in triage order: highest priority first, then oldest first (priority, created_at,
        id)."""
        return await self.page(
            stmt, order=((Household.priority, "desc"), Household.created_at, Household.id), limit=limit, cursor=cursor
        )

    async def records_of(
        self, model: Any, household_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[list[Any], str | None]:
        """A page of one household's ``model`` rows (signals, consents), newest first."""
        return await self.page(
            select(model).where(model.household_id == household_id),
            order=(model.created_at, model.id),
            limit=limit,
            cursor=cursor,
            descending=True,
        )

    # --- matching and intake -----------------------------------------------------------------------------------

    async def find_match(self, key: str, scope: ColumnElement[bool]) -> Household | None:
        """The live household with match key ``key`` within ``scope``: an open one first (most recently changed),
        else the most recently changed closed one."""
        return await self.one_or_none(  # type: ignore[no-any-return]
            select(Household)
            .where(Household.match_key == key, Household.deleted_at.is_(None), scope)
            .order_by(case((Household.status == HouseholdStatus.closed, 1), else_=0), Household.updated_at.desc())
            .limit(1)
        )

    async def same_signal(
        self, household_id: uuid.UUID, source: SignalSource, external_ref: str, observed_at: datetime
    ) -> Signal | None:
        """A signal already stored for this observation (same source, external reference and time)."""
        return await self.one_or_none(  # type: ignore[no-any-return]
            select(Signal).where(
                Signal.household_id == household_id,
                Signal.source == source,
                Signal.external_ref == external_ref,
                Signal.observed_at == observed_at,
            )
        )

    async def user_with_organization(self, user_id: uuid.UUID) -> tuple[User, Organization] | None:
        rows = await self.rows(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == user_id)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    # --- consents and sealed fields ----------------------------------------------------------------------------

    async def consents_by_household(self, household_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Consent]]:
        out: dict[uuid.UUID, list[Consent]] = {}
        for c in await self.all(select(Consent).where(Consent.household_id.in_(list(household_ids)))):
            out.setdefault(c.household_id, []).append(c)
        return out

    async def forms_by_consent(self, consent_ids: Iterable[uuid.UUID]) -> list[ConsentForm]:
        """The signed forms of these consents (those that have one)."""
        return await self.all(select(ConsentForm).where(ConsentForm.consent_id.in_(list(consent_ids))))

    async def sensitive_rows(
        self, household_ids: Iterable[uuid.UUID], *, kind: str | None = None, members_only: bool = False
    ) -> list[HouseholdSensitive]:
        """The sealed fields of these households (``kind`` only; ``members_only``: those of a member)."""
        stmt = select(HouseholdSensitive).where(HouseholdSensitive.household_id.in_(list(household_ids)))
        if kind is not None:
            stmt = stmt.where(HouseholdSensitive.kind == kind)
        if members_only:
            stmt = stmt.where(HouseholdSensitive.member_key != "")
        return await self.all(stmt)

    # --- merges ------------------------------------------------------------------------------------------------

    async def open_merge_of(self, household_id: uuid.UUID) -> HouseholdMerge | None:
        """The latest merge of this (merged-away) household that was not undone."""
        return await self.one_or_none(  # type: ignore[no-any-return]
            select(HouseholdMerge)
            .where(HouseholdMerge.household_id == household_id, HouseholdMerge.unmerged_at.is_(None))
            .order_by(desc(HouseholdMerge.merged_at))
            .limit(1)
        )

    async def rows_of(self, model: Any, household_id: uuid.UUID) -> list[Any]:
        """Every row of ``model`` (any table with a ``household_id``) that hangs on the household."""
        return await self.all(select(model).where(model.household_id == household_id))

    async def rows_by_id(self, model: Any, ids: Iterable[uuid.UUID]) -> list[Any]:
        return await self.all(select(model).where(model.id.in_(list(ids))))
