"""Integrated case management (``docs/care.md``): a case with a team, stages, goals and per-stage due dates."""

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


#: Allowed stage moves: forward along the process, one step back to redo a step, closing from any open
#: stage (a case may end early: refusal, move, death, needs met), and follow-up only after closure.
CASE_TRANSITIONS: dict[CaseStage, tuple[CaseStage, ...]] = {
    CaseStage.intake: (CaseStage.assessment, CaseStage.closed),
    CaseStage.assessment: (CaseStage.conference, CaseStage.closed),
    CaseStage.conference: (CaseStage.planning, CaseStage.assessment, CaseStage.closed),
    CaseStage.planning: (CaseStage.service, CaseStage.conference, CaseStage.closed),
    CaseStage.service: (CaseStage.monitoring, CaseStage.planning, CaseStage.closed),
    CaseStage.monitoring: (CaseStage.closed, CaseStage.service),
    CaseStage.closed: (CaseStage.follow_up,),
    CaseStage.follow_up: (CaseStage.closed,),
}
#: Stages of a case that is no longer open (the access policy counts only open cases).
CASE_CLOSED_STAGES = frozenset({CaseStage.closed, CaseStage.follow_up})


class Case(BaseTable, table=True):
    __tablename__ = "care_case"
    __sync_entity__ = "case"
    __table_args__ = (
        Index("ix_care_case_household_stage", "household_id", "stage"),
        Index("ix_care_case_next_due", "next_due_on"),
    )

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
    #: Due dates (service time zone): assessment within 10 days of intake, conference 5 days after the
    #: assessment, plan 15 days after the conference, and intake to plan 30 days at most.
    assessment_due_on: date | None = Field(default=None)
    conference_due_on: date | None = Field(default=None)
    plan_due_on: date | None = Field(default=None)
    #: When each step was done (the case moved past it for the first time).
    assessment_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    conference_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    plan_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Due date of the next step not yet done (``None`` once planned or closed): ``?overdue=true``.
    next_due_on: date | None = Field(default=None)
    close_reason: str | None = Field(default=None, max_length=1000)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class CaseMember(BaseTable, table=True):
    """A member of a case's team (public or private). An ended membership keeps its row."""

    __tablename__ = "case_member"
    #: Not sent to phones, but a change of team changes what phones hold.
    __sync_entity__ = "case_member"
    __table_args__ = (
        UniqueConstraint("case_id", "user_id"),
        Index("ix_case_member_user_active", "user_id", "ended_at"),
    )

    case_id: uuid.UUID = Field(foreign_key="care_case.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id")
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    role_note: str | None = Field(default=None, max_length=200)


class CaseStageChange(BaseTable, table=True):
    """History of a case's stage moves. Append-only."""

    __tablename__ = "case_stage_change"

    case_id: uuid.UUID = Field(foreign_key="care_case.id", index=True)
    from_stage: str | None = Field(default=None, max_length=16)
    to_stage: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=1000)
