"""Tables of winter operations (docs/winter.md).

* **Alert** — a cold wave, heavy snow or heat wave declared by a coordinator for some dongs and a period, with the
  criteria of the households to check and the hours each check is due within.
* **Task** — one check for one worker: a household of an alert ("call; visit if no answer"), or a facility's urgent
  follow-up (helper W2's winter inspection). Synced to the assignee's phone (``entity: task``) and completed there.
* **DeadlineNotice** — that a record's clock was announced as ``at_risk`` or ``overdue`` (one row per record, state
  and due time: the worker emits each event once).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type


class AlertKind(StrEnum):
    cold_wave = "cold_wave"  # 한파
    heavy_snow = "heavy_snow"  # 대설
    heat_wave = "heat_wave"  # 폭염


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class TaskOutcome(StrEnum):
    reached_by_phone = "reached_by_phone"
    visited = "visited"
    unreachable = "unreachable"
    hospitalised = "hospitalised"
    moved = "moved"


class TaskKind(StrEnum):
    #: An alert's check of a household: call, visit if no answer.
    alert_check = "alert_check"
    #: A facility's follow-up after an urgent finding of the winter inspection.
    facility_follow_up = "facility_follow_up"


class TaskSource(StrEnum):
    alert = "alert"
    facility_inspection = "facility_inspection"
    manual = "manual"


class Alert(BaseTable, table=True):
    __tablename__ = "winter_alert"
    __table_args__ = (Index("ix_winter_alert_org_created", "organization_id", "created_at"),)

    kind: AlertKind = Field(sa_type=enum_type(AlertKind))
    dong_codes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    #: {"risk_levels": [...], "tags": [...]} — a household matches with one of the risk levels and all the tags.
    criteria: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    due_hours: int
    title: str | None = Field(default=None, max_length=200)
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    created_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    task_count: int = Field(default=0)


class Task(BaseTable, table=True):
    __tablename__ = "winter_task"
    __sync_entity__ = "task"
    __table_args__ = (
        UniqueConstraint("alert_id", "household_id"),  # also the index of an alert's tasks (the summary)
        Index("ix_winter_task_assignee_status", "assignee_id", "status"),
        Index("ix_winter_task_status_due", "status", "due_at"),
        Index("ix_winter_task_household", "household_id"),
    )

    kind: TaskKind = Field(sa_type=enum_type(TaskKind))
    source: TaskSource = Field(sa_type=enum_type(TaskSource))
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id")
    facility_id: uuid.UUID | None = Field(default=None, foreign_key="facility.id", index=True)
    alert_id: uuid.UUID | None = Field(default=None, foreign_key="winter_alert.id")
    assignee_id: uuid.UUID = Field(foreign_key="user_account.id")
    #: The target's codes, kept here so jurisdiction filters and summaries need no join.
    district_code: str = Field(max_length=5)
    dong_code: str = Field(max_length=10)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: TaskStatus = Field(default=TaskStatus.open, sa_type=enum_type(TaskStatus))
    outcome: TaskOutcome | None = Field(default=None, sa_type=enum_type(TaskOutcome))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The device's time of completion (the phone may complete it offline, hours before it syncs).
    completed_device_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    #: Set once the worker escalated it to the coordinator (``task.overdue``).
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class DeadlineNotice(BaseTable, table=True):
    """One announcement of a record's clock (``deadline.at_risk`` or ``deadline.overdue``)."""

    __tablename__ = "deadline_notice"
    __table_args__ = (UniqueConstraint("entity", "entity_id", "state", "due_at"),)

    entity: str = Field(max_length=16)  # household | visit | case
    entity_id: uuid.UUID
    state: str = Field(max_length=16)  # at_risk | overdue
    due_at: datetime = Field(sa_type=UTCDateTime)
    rule: str | None = Field(default=None, max_length=64)
