"""The care that follows a visit (DESIGN §2): resources, supports, integrated cases, monitoring plans and
campaigns. Checklists and notes live in their own packages.

* **Resource** — a catalog entry (public benefit or private resource) with its provider organization and
  remaining capacity (``None``: not capacity-limited, e.g. a statutory benefit).
* **Support** — a household linked to a resource: ``proposed → requested → approved → provided`` or
  ``declined`` (from proposed, requested or approved), with amount, period, provider and a history.
* **Case** — integrated case management with a team, stages, goals and per-stage due dates.
* **MonitoringPlan** — follow-up visits at an interval after a support or a case closure.
* **Campaign** — a focused period (the winter campaign, December 15 to February 28) with its districts.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
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


class ResourceKind(StrEnum):
    public_benefit = "public_benefit"
    private_resource = "private_resource"


#: Categories of the catalog, by kind (more may be added; the API accepts these).
RESOURCE_CATEGORIES: dict[ResourceKind, tuple[str, ...]] = {
    ResourceKind.public_benefit: (
        "emergency_welfare",  # 긴급복지지원
        "basic_livelihood",  # 국민기초생활보장
        "medical_aid",  # 의료급여
        "energy_voucher",  # 에너지바우처
        "housing_benefit",  # 주거급여
        "disability_pension",  # 장애인연금
        "basic_pension",  # 기초연금
        "childcare",  # 아동·보육
        "employment",  # 국민취업지원
        "care_service",  # 노인맞춤돌봄
    ),
    ResourceKind.private_resource: (
        "food_bank",  # 푸드뱅크
        "heating_fuel",  # 난방유·연탄
        "medical_expense",  # 의료비
        "living_support",  # 생계비·생활용품
        "education_training",  # 교육·훈련
        "housing_repair",  # 주거환경 개선
        "counseling",  # 상담
    ),
}


class Resource(BaseTable, table=True):
    __tablename__ = "resource"
    __sync_entity__ = "resource"
    __table_args__ = (
        CheckConstraint("remaining IS NULL OR remaining >= 0", name="remaining_not_negative"),
        Index("ix_resource_district_active", "district_code", "active"),
    )

    name: str = Field(max_length=200)
    kind: ResourceKind = Field(sa_type=enum_type(ResourceKind))
    category: str = Field(max_length=64)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    provider_organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    #: The district (5-digit code) where the resource is offered.
    district_code: str = Field(max_length=5)
    eligibility: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Units in total and still available; ``None`` means not limited by capacity.
    capacity: int | None = Field(default=None)
    remaining: int | None = Field(default=None)
    unit: str = Field(default="household", max_length=32)
    #: A typical amount in KRW, when the resource is money or priced in money.
    default_amount: int | None = Field(default=None)
    contact: str | None = Field(default=None, max_length=200)
    active: bool = Field(default=True)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SupportStatus(StrEnum):
    proposed = "proposed"
    requested = "requested"
    approved = "approved"
    provided = "provided"
    declined = "declined"


SUPPORT_TRANSITIONS: dict[SupportStatus, tuple[SupportStatus, ...]] = {
    SupportStatus.proposed: (SupportStatus.requested, SupportStatus.declined),
    SupportStatus.requested: (SupportStatus.approved, SupportStatus.declined),
    SupportStatus.approved: (SupportStatus.provided, SupportStatus.declined),
    SupportStatus.provided: (),
    SupportStatus.declined: (),
}


class Support(BaseTable, table=True):
    __tablename__ = "support"
    __sync_entity__ = "support"
    __table_args__ = (
        Index("ix_support_household_status", "household_id", "status"),
        Index("ix_support_dong_status", "dong_code", "status"),
        Index("ix_support_provider_status", "provider_organization_id", "status"),
    )

    household_id: uuid.UUID = Field(foreign_key="household.id")
    resource_id: uuid.UUID = Field(foreign_key="resource.id", index=True)
    case_id: uuid.UUID | None = Field(default=None, foreign_key="care_case.id", index=True)
    visit_id: uuid.UUID | None = Field(default=None, foreign_key="visit.id", index=True)
    #: The household's codes, kept here so jurisdiction filters and summaries need no join.
    district_code: str = Field(max_length=5)
    dong_code: str = Field(max_length=10)
    status: SupportStatus = Field(default=SupportStatus.proposed, sa_type=enum_type(SupportStatus))
    #: KRW, when the support is money or priced in money.
    amount: int | None = Field(default=None)
    period_start: date | None = Field(default=None)
    period_end: date | None = Field(default=None)
    provider_organization_id: uuid.UUID = Field(foreign_key="organization.id")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    proposed_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    status_changed_at: datetime = Field(sa_type=UTCDateTime)
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    provided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decline_reason: str | None = Field(default=None, max_length=1000)
    #: Set when approval took a unit of the resource's capacity (given back if declined afterwards).
    capacity_taken: bool = Field(default=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SupportHistory(BaseTable, table=True):
    """Each status change of a support: who, when, from, to, why. Append-only."""

    __tablename__ = "support_history"

    support_id: uuid.UUID = Field(foreign_key="support.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=1000)


class Campaign(BaseTable, table=True):
    """A focused period, e.g. the winter campaign from December 15 to February 28."""

    __tablename__ = "campaign"

    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    district_codes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: What qualifies a household: {"sources": [...], "indicators": [...], "min_risk": "high"}
    criteria: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    active: bool = Field(default=True)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


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
