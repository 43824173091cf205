"""API shapes of integrated cases (never table objects)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.cases.models import CaseStage
from app.core.strict import NOT_BOOL
from app.core.times import Day

ShortText = Annotated[str, StringConstraints(max_length=1000)]
Interval = Annotated[int, Field(ge=1, le=365), NOT_BOOL]


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = Field(
        default=None, description="Stable key; assigned (g1, g2, …) when omitted"
    )
    text: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
    status: Literal["open", "achieved", "dropped"] = "open"
    due_on: Day | None = None


class CaseMemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: uuid.UUID
    role_note: Annotated[str, StringConstraints(max_length=200)] | None = None


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    household_id: uuid.UUID
    manager_id: uuid.UUID | None = Field(default=None, description="Default: the caller")
    members: list[CaseMemberCreate] = Field(default_factory=list, max_length=30)
    goals: list[Goal] = Field(default_factory=list, max_length=30)
    summary: Annotated[str, StringConstraints(max_length=2000)] | None = None


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manager_id: uuid.UUID | None = None
    goals: list[Goal] | None = Field(default=None, max_length=30)
    summary: Annotated[str, StringConstraints(max_length=2000)] | None = None


class CaseTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: CaseStage
    reason: ShortText | None = None
    schedule_monitoring: StrictBool = Field(default=True, description="When closing: start a monitoring plan")
    monitoring_interval_days: Interval | None = Field(default=None, description="Default 30")
    monitoring_owner_id: uuid.UUID | None = Field(default=None, description="Default: the case manager")


class CaseMemberPublic(BaseModel):
    user_id: uuid.UUID
    organization_id: uuid.UUID
    display_name: str | None
    role: str | None
    organization_kind: str | None
    role_note: str | None
    joined_at: datetime
    ended_at: datetime | None


class StepDue(BaseModel):
    due_on: date | None
    done_on: date | None
    overdue: bool


class CaseDue(BaseModel):
    assessment: StepDue
    conference: StepDue
    plan: StepDue


class CasePublic(BaseModel):
    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    dong_code: str
    manager_id: uuid.UUID
    stage: CaseStage
    stage_started_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    goals: list[dict[str, object]]
    summary: str | None
    due: CaseDue
    next_due_on: date | None
    overdue: bool
    due_at: datetime | None = Field(default=None, description="End of the next step's due date (docs/winter.md)")
    deadline_state: Literal["on_track", "at_risk", "overdue"] | None = None
    allowed_stages: list[CaseStage]
    members: list[CaseMemberPublic]
    redacted: bool = Field(description="Goals and summary hidden: no consent covers the caller's organization")
    created_at: datetime
    updated_at: datetime


class CaseStageChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    from_stage: str | None
    to_stage: str
    actor_id: uuid.UUID | None
    at: datetime
    reason: str | None
