"""The queries of campaigns and of their summaries (``docs/architecture.md``, the query layer). The areas a
summary counts come from :func:`app.access.campaigns.summary_codes`; each statement takes them as ``codes``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from app.access.policy import codes_clause
from app.campaigns.models import Campaign
from app.cases.models import Case
from app.core.repository import Repository
from app.households.models import Household, Signal
from app.monitoring.models import MonitoringPlan
from app.supports.models import Support, SupportStatus
from app.visits.models import Visit, VisitStatus


class CampaignRepository(Repository[Campaign]):
    model = Campaign

    def listing(self, *, active: bool | None = None, on: date | None = None) -> Select[tuple[Campaign]]:
        stmt = select(Campaign)
        if active is not None:
            stmt = stmt.where(Campaign.active.is_(active))
        if on is not None:
            stmt = stmt.where(Campaign.starts_on <= on, Campaign.ends_on >= on)
        return stmt

    # --- the summary ----------------------------------------------------------------------------------------

    async def signals_in(self, codes: list[str], start: datetime, end: datetime, sources: list[str]) -> Sequence[Any]:
        """(household, source, indicators, dong, tags, risk) of the signals observed in [start, end) on live
        households of ``codes`` (of ``sources`` only, when given)."""
        stmt = (
            select(
                Signal.household_id,
                Signal.source,
                Signal.indicators,
                Household.dong_code,
                Household.tags,
                Household.risk_level,
            )
            .join(Household, Household.id == Signal.household_id)
            .where(
                Signal.observed_at >= start,
                Signal.observed_at < end,
                Household.deleted_at.is_(None),
                codes_clause(Household.dong_code, codes),
            )
        )
        if sources:
            stmt = stmt.where(Signal.source.in_(sources))
        return await self.rows(stmt)

    async def completed_visits(self, campaign_id: uuid.UUID, codes: list[str]) -> Sequence[Any]:
        """(household, facility, dong) of the campaign's completed visits in ``codes``."""
        return await self.rows(
            select(Visit.household_id, Visit.facility_id, Visit.dong_code).where(
                Visit.campaign_id == campaign_id,
                Visit.status == VisitStatus.completed,
                Visit.deleted_at.is_(None),
                codes_clause(Visit.dong_code, codes),
            )
        )

    async def supports_given(self, codes: list[str], start: datetime, end: datetime) -> Sequence[Any]:
        """(household, dong) of the supports approved or provided in [start, end) in ``codes``."""
        return await self.rows(
            select(Support.household_id, Support.dong_code).where(
                Support.status.in_([SupportStatus.approved, SupportStatus.provided]),
                Support.deleted_at.is_(None),
                or_(
                    and_(Support.approved_at >= start, Support.approved_at < end),
                    and_(Support.provided_at >= start, Support.provided_at < end),
                ),
                codes_clause(Support.dong_code, codes),
            )
        )

    async def monitored(self, codes: list[str], by: date) -> Sequence[Any]:
        """(household, dong) of the active monitoring plans in ``codes`` started by ``by``."""
        return await self.rows(
            select(MonitoringPlan.household_id, MonitoringPlan.dong_code).where(
                MonitoringPlan.active.is_(True),
                MonitoringPlan.starts_on <= by,
                codes_clause(MonitoringPlan.dong_code, codes),
            )
        )

    async def sources_before(self, household_ids: list[uuid.UUID], end: datetime) -> Sequence[Any]:
        """(household, source) of every signal of ``household_ids`` observed before ``end``."""
        return await self.rows(
            select(Signal.household_id, Signal.source).where(
                Signal.household_id.in_(household_ids), Signal.observed_at < end
            )
        )

    async def reached(self, household_ids: list[uuid.UUID], start: datetime, end: datetime) -> set[uuid.UUID]:
        """Of ``household_ids``, those a contact attempt reached (or was refused by) in [start, end)."""
        from app.contacts.models import ContactAttempt, ContactOutcome

        return set(
            await self.all(
                select(ContactAttempt.household_id).where(
                    ContactAttempt.household_id.in_(household_ids),
                    ContactAttempt.outcome.in_([ContactOutcome.reached, ContactOutcome.refused]),
                    ContactAttempt.at >= start,
                    ContactAttempt.at < end,
                )
            )
        )

    async def households(self, household_ids: list[uuid.UUID]) -> list[Household]:
        return await self.all(select(Household).where(Household.id.in_(household_ids)))

    async def overdue_in(
        self, notice: Any, household_ids: list[uuid.UUID], start: datetime, end: datetime
    ) -> set[uuid.UUID]:
        """Of ``household_ids``, those whose own legal clock, or one of their visits' or cases', went overdue
        in [start, end) (``notice``: app.winter's ``DeadlineNotice``)."""
        overdue = and_(notice.state == "overdue", notice.due_at >= start, notice.due_at < end)
        missed = set(
            await self.all(
                select(notice.entity_id).where(
                    overdue, notice.entity == "household", notice.entity_id.in_(household_ids)
                )
            )
        )
        for model, entity in ((Visit, "visit"), (Case, "case")):
            missed |= set(
                await self.all(
                    select(model.household_id)
                    .join(notice, and_(notice.entity == entity, notice.entity_id == model.id))
                    .where(overdue, model.household_id.in_(household_ids))
                )
            )
        return missed
