"""Integrated case management and campaigns (DESIGN §2). Checklists, notes, resources, supports and
monitoring plans live in their own modules."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type


class CaseStage(StrEnum):
    intake = "intake"
    assessment = "assessment"
    conference = "conference"
    planning = "planning"
    service = "service"
    monitoring = "monitoring"
    closed = "closed"
    follow_up = "follow_up"


class Campaign(BaseTable, table=True):
    """A focused period, e.g. the winter campaign from December 15 to February 28."""

    __tablename__ = "campaign"

    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    district_codes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: What qualifies a household: {"indicators": [...], "tags": [...], "min_risk": "high", …}
    criteria: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    active: bool = Field(default=True)


class Case(BaseTable, table=True):
    __tablename__ = "care_case"
    __sync_entity__ = "case"
    __table_args__ = (Index("ix_care_case_household_stage", "household_id", "stage"),)

    household_id: uuid.UUID = Field(foreign_key="household.id")
    dong_code: str = Field(max_length=10, index=True)
    manager_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    stage: CaseStage = Field(default=CaseStage.intake, sa_type=enum_type(CaseStage))
    stage_started_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    goals: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    summary: str | None = Field(default=None, max_length=2000)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseMember(BaseTable, table=True):
    """A member of a case's team (public or private). An ended membership keeps its row."""

    __tablename__ = "case_member"
    __table_args__ = (
        UniqueConstraint("case_id", "user_id"),
        Index("ix_case_member_user_active", "user_id", "ended_at"),
    )

    case_id: uuid.UUID = Field(foreign_key="care_case.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id")
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
