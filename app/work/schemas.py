"""API shapes of workload and reassignment (docs/operations.md, Work and reassignment)."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from app.core.principal import Role
from app.core.times import Day


class WorkCounts(BaseModel):
    """Open items by kind (``tasks`` only where the winter module is installed) and their total."""

    model_config = ConfigDict(extra="allow")
    visits: int = 0
    cases: int = 0
    monitoring: int = 0
    tasks: int = 0
    total: int = 0


class WorkDay(WorkCounts):
    date: date


class WorkerLoad(BaseModel):
    user_id: uuid.UUID
    display_name: str
    role: Role
    organization_id: uuid.UUID
    organization_name: str
    active: bool
    open: WorkCounts = Field(description="Every open item within the jurisdiction")
    earlier: WorkCounts = Field(description="Due before `from` (late)")
    later: WorkCounts = Field(description="Due after `to`")
    undated: WorkCounts = Field(description="Without a due day (a case past planning)")
    days: list[WorkDay] = Field(description="Every day from `from` to `to`, in order")


class Workload(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    kinds: list[str] = Field(description="The kinds of work of this build")
    workers: list[WorkerLoad]

    model_config = ConfigDict(populate_by_name=True)


class Reassign(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    to: list[uuid.UUID] = Field(min_length=1, max_length=50, description="Receivers; work is balanced among them")
    kinds: list[str] | None = Field(
        default=None, min_length=1, description="visits, cases, monitoring, tasks (all when left out)"
    )
    from_: Day | None = Field(
        default=None,
        alias="from",
        description="Only work due on or after this day (service time zone); undated cases then stay",
    )


class Moved(BaseModel):
    kind: str
    id: uuid.UUID
    household_id: uuid.UUID | None
    dong_code: str
    day: date | None
    to: uuid.UUID


class ReceiverShare(WorkCounts):
    user_id: uuid.UUID
    display_name: str


class Reassigned(BaseModel):
    user_id: uuid.UUID
    moved: WorkCounts
    receivers: list[ReceiverShare]
    items: list[Moved]
    remaining: WorkCounts = Field(
        description="Open work the user still holds anywhere (outside your jurisdiction, or not selected)"
    )
