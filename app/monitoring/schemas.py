"""API shapes of monitoring plans (never table objects)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.core.strict import NOT_BOOL
from app.core.times import Day
from app.monitoring.models import MonitoringSource

ShortText = Annotated[str, StringConstraints(max_length=1000)]
Interval = Annotated[int, Field(ge=1, le=365), NOT_BOOL]


class MonitoringCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    household_id: uuid.UUID
    owner_id: uuid.UUID | None = Field(default=None, description="Default: the caller")
    interval_days: Interval = 30
    next_due_on: Day | None = Field(default=None, description="Default: today + interval")
    ends_on: Day | None = None
    support_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    note: ShortText | None = None


class MonitoringUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner_id: uuid.UUID | None = None
    interval_days: Interval | None = None
    next_due_on: Day | None = None
    ends_on: Day | None = None
    active: StrictBool | None = None
    note: ShortText | None = None


class MonitoringPublic(BaseModel):
    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    district_code: str
    dong_code: str
    owner_id: uuid.UUID
    interval_days: int
    next_due_on: date
    starts_on: date
    ends_on: date | None
    active: bool
    due: bool = Field(description="Active and due today or earlier (service time zone)")
    source: MonitoringSource
    support_id: uuid.UUID | None
    case_id: uuid.UUID | None
    last_visit_id: uuid.UUID | None
    last_scheduled_at: datetime | None
    visits_created: int
    note: str | None
    created_at: datetime
    updated_at: datetime


class MonitoringRun(BaseModel):
    as_of: date
    created: int
    visit_ids: list[uuid.UUID]
