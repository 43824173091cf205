"""Crisis reports from residents, honorary officials and institutions (docs/data-model.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type


class ReportStatus(StrEnum):
    new = "new"
    triaged = "triaged"
    dismissed = "dismissed"


class CrisisReport(BaseTable, table=True):
    __tablename__ = "crisis_report"
    __table_args__ = (Index("ix_crisis_report_status_created", "status", "created_at"),)

    reporter_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    reporter_organization_id: uuid.UUID = Field(foreign_key="organization.id")
    #: What was seen, in the reporter's words.
    observation: str = Field(sa_column=Column(Text, nullable=False))
    address: str = Field(max_length=300)
    district_code: str = Field(max_length=5)
    dong_code: str = Field(max_length=10, index=True)
    subject_name: str | None = Field(default=None, max_length=100)
    subject_phone: str | None = Field(default=None, max_length=40)
    indicators: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: The signal source a triage records: honorary_official, resident_report or agency_referral.
    source: str = Field(default="honorary_official", max_length=32)
    observed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: ReportStatus = Field(default=ReportStatus.new, sa_type=enum_type(ReportStatus))
    #: Never shown to the reporter.
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id", index=True)
    triaged_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    triaged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: What the reporter is told (no household details).
    outcome_message: str | None = Field(default=None, max_length=1000)
    dismiss_reason: str | None = Field(default=None, max_length=1000)
    #: The progress (received, visited, support_linked, closed) the reporter was last notified of
    #: (app.reports.progress); REST computes the current one on read.
    notified_progress: str = Field(default="received", max_length=16)
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
