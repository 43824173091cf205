"""Supports (``docs/care.md``): a household linked to a resource, ``proposed → requested → approved →
provided`` or ``declined`` (from proposed, requested or approved), with amount, period, provider and a history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field

from app.core.db import BaseTable, UTCDateTime, enum_type


class SupportStatus(StrEnum):
    proposed = "proposed"
    requested = "requested"
    approved = "approved"
    provided = "provided"
    declined = "declined"


SUPPORT_TRANSITIONS: dict[SupportStatus, tuple[SupportStatus, ...]] = {
    SupportStatus.proposed: (SupportStatus.requested, SupportStatus.declined),
    SupportStatus.requested: (SupportStatus.approved, SupportStatus.declined),
    SupportStatus.approved: (SupportStatus.provided, SupportStatus.declined),
    SupportStatus.provided: (),
    SupportStatus.declined: (),
}


class Support(BaseTable, table=True):
    __tablename__ = "support"
    __sync_entity__ = "support"
    __table_args__ = (
        Index("ix_support_household_status", "household_id", "status"),
        Index("ix_support_dong_status", "dong_code", "status"),
        Index("ix_support_provider_status", "provider_organization_id", "status"),
    )

    household_id: uuid.UUID = Field(foreign_key="household.id")
    resource_id: uuid.UUID = Field(foreign_key="resource.id", index=True)
    case_id: uuid.UUID | None = Field(default=None, foreign_key="care_case.id", index=True)
    visit_id: uuid.UUID | None = Field(default=None, foreign_key="visit.id", index=True)
    #: The household's codes, kept here so jurisdiction filters and summaries need no join.
    district_code: str = Field(max_length=5)
    dong_code: str = Field(max_length=10)
    status: SupportStatus = Field(default=SupportStatus.proposed, sa_type=enum_type(SupportStatus))
    #: KRW, when the support is money or priced in money.
    amount: int | None = Field(default=None)
    period_start: date | None = Field(default=None)
    period_end: date | None = Field(default=None)
    provider_organization_id: uuid.UUID = Field(foreign_key="organization.id")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    proposed_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    status_changed_at: datetime = Field(sa_type=UTCDateTime)
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    provided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decline_reason: str | None = Field(default=None, max_length=1000)
    #: Set when approval took a unit of the resource's capacity (given back if declined afterwards).
    capacity_taken: bool = Field(default=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SupportHistory(BaseTable, table=True):
    """Each status change of a support: who, when, from, to, why. Append-only."""

    __tablename__ = "support_history"

    support_id: uuid.UUID = Field(foreign_key="support.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=1000)
