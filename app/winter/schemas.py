"""API shapes of winter operations (docs/winter.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.strict import Int
from app.core.times import AwareInstant
from app.households.models import VULNERABILITY_TAGS, RiskLevel
from app.winter.models import AlertKind, TaskKind, TaskOutcome, TaskSource, TaskStatus

DongCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}([0-9]{5})?$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40)]
DeadlineState = Literal["on_track", "at_risk", "overdue"]


class AlertCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid")
    risk_levels: list[RiskLevel] = Field(default_factory=list, max_length=4, description="Any of them (none: any)")
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=len(VULNERABILITY_TAGS),
        description="All of them, e.g. single_person and elderly: " + ", ".join(VULNERABILITY_TAGS),
    )


class AlertCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = Field(default=None, description="Your id for it: a retry with the same id creates nothing")
    kind: AlertKind
    dong_codes: list[DongCode] = Field(min_length=1, max_length=200, description="Dongs (or whole districts)")
    starts_at: AwareInstant
    ends_at: AwareInstant
    criteria: AlertCriteria = Field(default_factory=AlertCriteria)
    due_hours: Int = Field(ge=1, le=168, description="Each check is due this many hours after the alert starts")
    title: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _period(self) -> AlertCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    kind: AlertKind
    dong_codes: list[str]
    starts_at: datetime
    ends_at: datetime
    criteria: AlertCriteria
    due_hours: int
    title: str | None
    active: bool
    task_count: int
    organization_id: uuid.UUID
    created_by_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class SummaryCounts(BaseModel):
    total: int
    done: int
    open: int
    overdue: int = Field(description="Open and past due")
    escalated: int = Field(description="Overdue and escalated to the coordinator (event task.overdue)")
    unassigned: int = Field(description="Open, left with the coordinator: no planner found for the household")


class DongSummary(SummaryCounts):
    dong_code: str
    dong_name: str


class AlertSummary(SummaryCounts):
    alert_id: uuid.UUID
    by_outcome: dict[str, int]
    by_dong: list[DongSummary]
    as_of: datetime


class TaskTarget(BaseModel):
    """Who or what to check, so that the check can be made with no signal: a household's head, address and phone
    (only to public staff: partners never see them here), or a facility's name, address and phone."""

    kind: Literal["household", "facility"]
    name: str
    address: str
    address_detail: str | None = None
    contact_phone: str | None = None


class TaskPublic(BaseModel):
    """A check task, the same in REST and in sync ``data`` (``entity: task``)."""

    id: uuid.UUID
    version: int
    kind: TaskKind
    source: TaskSource
    household_id: uuid.UUID | None
    facility_id: uuid.UUID | None
    alert_id: uuid.UUID | None
    assignee_id: uuid.UUID
    dong_code: str
    due_at: datetime
    status: TaskStatus
    outcome: TaskOutcome | None
    note: str | None
    overdue: bool
    completed_at: datetime | None
    completed_by_id: uuid.UUID | None
    escalated_at: datetime | None
    target: TaskTarget | None = Field(default=None, description="Null where the caller may not see the household")
    created_at: datetime
    updated_at: datetime


class TaskComplete(BaseModel):
    """Completing a task (REST, and the ``data`` of the ``task`` ``complete`` push)."""

    model_config = ConfigDict(extra="forbid")
    outcome: TaskOutcome
    note: str | None = Field(default=None, max_length=2000)


class DeadlineItem(BaseModel):
    entity: Literal["household", "visit", "case"]
    id: uuid.UUID
    household_id: uuid.UUID | None
    dong_code: str
    due_at: datetime
    deadline_state: DeadlineState
    rule: str
