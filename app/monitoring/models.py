"""Monitoring plans (``docs/care.md``): follow-up visits to a household at an interval after a support or a
case closure."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from app.core.db import BaseTable, UTCDateTime, enum_type


class MonitoringSource(StrEnum):
    support = "support"
    case_closure = "case_closure"
    visit = "visit"
    manual = "manual"


class MonitoringPlan(BaseTable, table=True):
    """Follow-up visits to a household every ``interval_days``; the next one is due on ``next_due_on``."""

    __tablename__ = "monitoring_plan"
    __table_args__ = (
        CheckConstraint("interval_days >= 1", name="interval_positive"),
        Index("ix_monitoring_plan_active_due", "active", "next_due_on"),
        Index("ix_monitoring_plan_household_active", "household_id", "active"),
    )

    household_id: uuid.UUID = Field(foreign_key="household.id")
    district_code: str = Field(max_length=5)
    dong_code: str = Field(max_length=10, index=True)
    owner_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    interval_days: int
    next_due_on: date
    starts_on: date
    ends_on: date | None = Field(default=None)
    active: bool = Field(default=True)
    source: MonitoringSource = Field(default=MonitoringSource.manual, sa_type=enum_type(MonitoringSource))
    support_id: uuid.UUID | None = Field(default=None, foreign_key="support.id")
    case_id: uuid.UUID | None = Field(default=None, foreign_key="care_case.id")
    #: The last follow-up visit this plan created, and when.
    last_visit_id: uuid.UUID | None = Field(default=None, foreign_key="visit.id")
    last_scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    visits_created: int = Field(default=0)
    note: str | None = Field(default=None, max_length=1000)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
