"""API shapes of the care domain (never table objects)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.care.models import CaseStage, MonitoringSource, ResourceKind, SupportStatus
from app.core.strict import NOT_BOOL
from app.core.times import Day
from app.households.models import RiskLevel, SignalSource

DistrictCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
AdminCode = Annotated[str, StringConstraints(pattern=r"^\d{5}(\d{5})?$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
ShortText = Annotated[str, StringConstraints(max_length=1000)]
Amount = Annotated[int, Field(ge=0, le=1_000_000_000), NOT_BOOL]
Interval = Annotated[int, Field(ge=1, le=365), NOT_BOOL]


# --- resources ------------------------------------------------------------------------------------------------


class ResourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    kind: ResourceKind
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    description: LongText | None = None
    provider_organization_id: uuid.UUID
    district_code: DistrictCode
    eligibility: LongText | None = None
    capacity: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = Field(
        default=None, description="Units in total; omit for a resource not limited by capacity"
    )
    remaining: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = Field(
        default=None, description="Units still available (defaults to capacity)"
    )
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "household"
    default_amount: Amount | None = None
    contact: Annotated[str, StringConstraints(max_length=200)] | None = None
    active: StrictBool = True


class ResourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    description: LongText | None = None
    eligibility: LongText | None = None
    capacity: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = Field(
        default=None, description="Changing it moves remaining by the same difference (never below 0)"
    )
    remaining: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = None
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    default_amount: Amount | None = None
    contact: Annotated[str, StringConstraints(max_length=200)] | None = None
    active: StrictBool | None = None


class ResourcePublic(BaseModel):
    id: uuid.UUID
    version: int
    name: str
    kind: ResourceKind
    category: str
    description: str | None
    provider_organization_id: uuid.UUID
    provider_name: str | None
    district_code: str
    eligibility: str | None
    capacity: int | None
    remaining: int | None
    unit: str
    default_amount: int | None
    contact: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


# --- supports -------------------------------------------------------------------------------------------------


class SupportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    household_id: uuid.UUID
    resource_id: uuid.UUID
    case_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    amount: Amount | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    reason: LongText | None = None
    confirm: StrictBool = Field(
        default=False,
        description="Propose it even though another support of the household covers the same need in an "
        "overlapping period (otherwise 409 possible-duplicate-support naming it)",
    )


class SupportUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    reason: LongText | None = None


class SupportTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: SupportStatus
    reason: ShortText | None = None
    amount: Amount | None = Field(default=None, description="The decided amount (requested or approved)")
    period_start: Day | None = None
    period_end: Day | None = None
    schedule_monitoring: StrictBool = Field(
        default=True,
        description="When marking provided: start a monitoring plan for the household if it has none",
    )
    monitoring_interval_days: Interval | None = Field(default=None, description="Default 30")
    monitoring_owner_id: uuid.UUID | None = Field(default=None, description="Default: whoever proposed it")


class SupportPublic(BaseModel):
    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    resource_id: uuid.UUID
    resource_name: str | None
    resource_kind: ResourceKind | None
    category: str | None
    case_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    district_code: str
    dong_code: str
    status: SupportStatus
    amount: int | None
    period_start: date | None
    period_end: date | None
    provider_organization_id: uuid.UUID
    reason: str | None = Field(description="Hidden (null) from callers who may not see the household")
    proposed_by_id: uuid.UUID
    approved_by_id: uuid.UUID | None
    status_changed_at: datetime
    requested_at: datetime | None
    approved_at: datetime | None
    provided_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    household_visible: bool
    allowed_transitions: list[SupportStatus]
    created_at: datetime
    updated_at: datetime


class SupportHistoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    from_status: str | None
    to_status: str
    actor_id: uuid.UUID | None
    at: datetime
    reason: str | None


# --- cases ----------------------------------------------------------------------------------------------------


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = Field(
        default=None, description="Stable key; assigned (g1, g2, …) when omitted"
    )
    text: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
    status: Literal["open", "achieved", "dropped"] = "open"
    due_on: Day | None = None


class CaseMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: uuid.UUID
    role_note: Annotated[str, StringConstraints(max_length=200)] | None = None


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    household_id: uuid.UUID
    manager_id: uuid.UUID | None = Field(default=None, description="Default: the caller")
    members: list[CaseMemberIn] = Field(default_factory=list, max_length=30)
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
    due_at: datetime | None = Field(default=None, description="End of the next step's due date (DESIGN §11)")
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


# --- monitoring -----------------------------------------------------------------------------------------------


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


# --- campaigns ------------------------------------------------------------------------------------------------


class CampaignCriteria(BaseModel):
    """What qualifies a household as identified by the campaign. Empty: any signal in the period."""

    model_config = ConfigDict(extra="forbid")
    sources: list[SignalSource] = Field(default_factory=list, max_length=20)
    indicators: list[str] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)
    min_risk: RiskLevel | None = None


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    starts_on: Day
    ends_on: Day
    district_codes: list[AdminCode] = Field(min_length=1, max_length=100)
    criteria: CampaignCriteria = Field(default_factory=CampaignCriteria)
    description: LongText | None = None
    active: StrictBool = True


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    district_codes: list[AdminCode] | None = Field(default=None, min_length=1, max_length=100)
    criteria: CampaignCriteria | None = None
    description: LongText | None = None
    active: StrictBool | None = None


class CampaignPublic(BaseModel):
    id: uuid.UUID
    version: int
    name: str
    starts_on: date
    ends_on: date
    district_codes: list[str]
    criteria: dict[str, object]
    organization_id: uuid.UUID
    active: bool
    description: str | None
    created_at: datetime
    updated_at: datetime


class SummaryCounts(BaseModel):
    identified: int = 0
    visited: int = 0
    supported: int = 0
    monitored: int = 0
    reached: int = Field(
        default=0, description="Reached in the period: a contact attempt that reached someone, or a completed visit"
    )
    unreachable: int = Field(default=0, description="Unreachable now (app.contacts)")
    in_monitoring: int = Field(default=0, description="Status monitoring now")
    deadlines_missed: int = Field(
        default=0, description="A legal clock of the household, its visits or cases went overdue"
    )


class DongSummary(SummaryCounts):
    dong_code: str
    dong_name: str | None = None


class SourceSummary(SummaryCounts):
    source: str
    source_label: str | None = None


class DistrictSummary(SummaryCounts):
    district_code: str
    district_name: str | None = None


class DongSourceSummary(SummaryCounts):
    """One cell row of the dong × source table."""

    dong_code: str
    dong_name: str | None = None
    source: str


class CampaignSummary(BaseModel):
    campaign_id: uuid.UUID
    starts_on: date
    ends_on: date
    as_of: date
    district_codes: list[str] = Field(description="The campaign's codes within the caller's jurisdiction")
    totals: SummaryCounts = Field(description="Households: identified, visited, supported, monitored")
    visits_completed: int
    facilities_inspected: int
    supports: int
    by_dong: list[DongSummary]
    by_source: list[SourceSummary]
    by_district: list[DistrictSummary] = Field(default_factory=list)
    by_dong_source: list[DongSourceSummary] = Field(
        default_factory=list, description="The dong × source table: one row per (dong, source) with any count"
    )


# --- the support ledger of a household ------------------------------------------------------------------------


class LedgerEntry(BaseModel):
    support_id: uuid.UUID
    version: int
    resource_id: uuid.UUID
    resource_name: str | None
    resource_kind: ResourceKind | None
    category: str | None
    need: str | None = Field(description="The need the resource meets (supports of one need may duplicate)")
    provider_organization_id: uuid.UUID
    provider_name: str | None
    amount: int | None = Field(description="KRW")
    period_start: date | None
    period_end: date | None
    status: SupportStatus
    status_changed_at: datetime
    proposed_at: datetime
    provided_at: datetime | None
    case_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    overlaps: list[uuid.UUID] = Field(
        description="Other entries of the ledger for the same need in an overlapping period (possible duplicates)"
    )


class LedgerAmounts(BaseModel):
    count: int = 0
    amount: int = Field(default=0, description="KRW, sum of the amounts given")


class LedgerTotals(BaseModel):
    count: int = Field(description="Entries shown")
    amount: int = Field(description="KRW of every entry not declined")
    provided: int = Field(description="KRW provided")
    approved: int = Field(description="KRW approved, not yet provided")
    pending: int = Field(description="KRW proposed or requested")
    by_status: dict[str, LedgerAmounts]
    by_kind: dict[str, LedgerAmounts] = Field(description="public_benefit, private_resource (declined left out)")
    by_need: dict[str, LedgerAmounts] = Field(description="Per need (declined left out)")


class SupportLedger(BaseModel):
    household_id: uuid.UUID
    scope: Literal["all", "consented"] = Field(
        description="all: every support of the household (public staff); consented: what a private partner's "
        "consent allows (private resources only; other providers' only under a service_linkage consent)"
    )
    entries: list[LedgerEntry]
    totals: LedgerTotals
