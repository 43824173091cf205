"""Visits, their teams, and welfare facilities (docs/data-model.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type


class VisitPurpose(StrEnum):
    identification = "identification"
    assessment = "assessment"
    joint_consultation = "joint_consultation"
    follow_up = "follow_up"
    safety_inspection = "safety_inspection"


class VisitStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    no_contact = "no_contact"
    refused = "refused"
    cancelled = "cancelled"


#: The state machine: from → allowed targets.
TRANSITIONS: dict[VisitStatus, tuple[VisitStatus, ...]] = {
    VisitStatus.scheduled: (
        VisitStatus.in_progress,
        VisitStatus.no_contact,
        VisitStatus.refused,
        VisitStatus.cancelled,
    ),
    VisitStatus.in_progress: (
        VisitStatus.completed,
        VisitStatus.no_contact,
        VisitStatus.refused,
        VisitStatus.cancelled,
    ),
    VisitStatus.completed: (),
    VisitStatus.no_contact: (),
    VisitStatus.refused: (),
    VisitStatus.cancelled: (),
}
FINISHED = frozenset({VisitStatus.completed, VisitStatus.no_contact, VisitStatus.refused, VisitStatus.cancelled})


class Facility(BaseTable, table=True):
    __tablename__ = "facility"
    #: Sent to the phones of its inspectors (app.visits.sync).
    __sync_entity__ = "facility"

    name: str = Field(max_length=200)
    kind: str = Field(max_length=64)  # senior_center, shelter, community_child_center, care_home, …
    district_code: str = Field(max_length=5, index=True)
    dong_code: str = Field(max_length=10, index=True)
    address: str = Field(max_length=300)
    contact_phone: str | None = Field(default=None, max_length=40)
    operator: str | None = Field(default=None, max_length=200)
    capacity: int | None = Field(default=None)
    active: bool = Field(default=True)
    #: The latest completed inspection checklist of one of its visits (app.winter.inspections.record_inspection).
    last_inspected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_inspection_visit_id: uuid.UUID | None = Field(default=None)
    last_inspection_urgent: bool | None = Field(default=None)


class Visit(BaseTable, table=True):
    __tablename__ = "visit"
    __sync_entity__ = "visit"
    __table_args__ = (
        CheckConstraint("(household_id IS NULL) <> (facility_id IS NULL)", name="one_target"),
        Index("ix_visit_window", "window_start", "window_end"),
        Index("ix_visit_dong_status", "dong_code", "status"),
    )

    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id", index=True)
    facility_id: uuid.UUID | None = Field(default=None, foreign_key="facility.id", index=True)
    #: The target's dong, kept here so jurisdiction filters need no join.
    dong_code: str = Field(max_length=10)
    purpose: VisitPurpose = Field(sa_type=enum_type(VisitPurpose))
    status: VisitStatus = Field(default=VisitStatus.scheduled, sa_type=enum_type(VisitStatus))
    campaign_id: uuid.UUID | None = Field(default=None, foreign_key="campaign.id", index=True)
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    #: Pinned checklist template versions: [{"key": …, "version": …}]
    checklists: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: Photos the visit expects: [{"key": …, "label": …}]
    expected_photos: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_device_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_out_device_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    cancel_reason: str | None = Field(default=None, max_length=500)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class VisitAssignee(BaseTable, table=True):
    """A member of a visit's team. An assignment that ends keeps its row with ``ended_at``."""

    __tablename__ = "visit_assignee"
    #: Not sent to phones, but a change of team changes what phones hold (sync re-scopes).
    __sync_entity__ = "visit_assignee"
    __table_args__ = (
        UniqueConstraint("visit_id", "user_id"),
        Index("ix_visit_assignee_user_active", "user_id", "ended_at"),
    )

    visit_id: uuid.UUID = Field(foreign_key="visit.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id")
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    lead: bool = Field(default=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class VisitTransition(BaseTable, table=True):
    """History of a visit's status changes, with device and server time."""

    __tablename__ = "visit_transition"

    visit_id: uuid.UUID = Field(foreign_key="visit.id", index=True)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    device_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    server_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=1000)
    #: Where the device was, when it said (``{"lat", "lon", "accuracy_m"}``); kept with the history only.
    location: dict[str, object] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
