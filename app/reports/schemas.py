"""API shapes of crisis reports. A reporter's view never carries a household id or details."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StringConstraints, field_validator

from app.core.schemas import Input, Public
from app.core.times import AwareInstant
from app.households.schemas import (
    DistrictCode,
    DongCode,
    HouseholdBrief,
    Indicator,
    LongText,
    MemberInput,
    Name,
    Phone,
    Text200,
    Text300,
    VulnerabilityTag,
)
from app.reports.models import ReportStatus

ReportSource = Literal["honorary_official", "resident_report", "agency_referral"]
ReportProgress = Literal["received", "visited", "support_linked", "closed"]
PROGRESS_DESCRIPTION = (
    "How far the report got, without household detail: received → visited → support_linked / closed "
    "(computed on read; only moves forward)"
)
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class ReportCreate(Input):
    observation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=4000)] = Field(
        description="What was seen, in the reporter's words"
    )
    address: Text300
    district_code: DistrictCode
    dong_code: DongCode
    subject_name: Name | None = None
    subject_phone: Phone | None = None
    indicators: list[Indicator] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    observed_at: AwareInstant | None = None
    source: ReportSource = "honorary_official"

    @field_validator("indicators")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class ReporterReportPublic(Public):
    """What the reporter sees: their report and its outcome, never the household."""

    view: Literal["reporter"] = "reporter"
    id: uuid.UUID
    version: int
    status: ReportStatus
    observation: str
    address: str
    dong_code: str
    subject_name: str | None
    subject_phone: str | None
    indicators: list[str]
    observed_at: datetime | None
    source: str
    outcome_message: str = Field(description="What the reporter is told")
    progress: ReportProgress = Field(default="received", description=PROGRESS_DESCRIPTION)
    progress_label: str = Field(default="", description="The progress in the caller's language")
    decided_at: datetime | None
    created_at: datetime


class StaffReportPublic(Public):
    view: Literal["staff"] = "staff"
    id: uuid.UUID
    version: int
    status: ReportStatus
    reporter_id: uuid.UUID
    reporter_organization_id: uuid.UUID
    observation: str
    address: str
    district_code: str
    dong_code: str
    subject_name: str | None
    subject_phone: str | None
    indicators: list[str]
    observed_at: datetime | None
    source: str
    household_id: uuid.UUID | None
    triaged_by_id: uuid.UUID | None
    triaged_at: datetime | None
    outcome_message: str | None
    dismiss_reason: str | None
    progress: ReportProgress = Field(default="received", description=PROGRESS_DESCRIPTION)
    notified_progress: ReportProgress = Field(default="received", description="The progress the reporter was told")
    suggested_household_id: uuid.UUID | None = Field(
        default=None, description="A household of the jurisdiction with the same address and name (single report)"
    )
    created_at: datetime
    updated_at: datetime


ReportView = Annotated[ReporterReportPublic | StaffReportPublic, Field(discriminator="view")]


class TriageHousehold(Input):
    """Corrections to what the report says, used when it is matched or a household is created."""

    district_code: DistrictCode | None = None
    dong_code: DongCode | None = None
    address: Text300 | None = None
    address_detail: Text200 | None = None
    head_name: Name | None = None
    contact_phone: Phone | None = None
    members: list[MemberInput] = Field(default_factory=list, max_length=30)
    tags: list[VulnerabilityTag] = Field(default_factory=list, max_length=11)  # type: ignore[valid-type]
    living_situation: LongText | None = None


class ReportTriage(Input):
    decision: Literal["household", "dismiss"] = Field(
        description="household: link to a household (given, matched by address and name, or new); dismiss"
    )
    household_id: uuid.UUID | None = Field(default=None, description="Link to this household")
    create_new: StrictBool = Field(default=False, description="Create a household even if one matches")
    household: TriageHousehold | None = None
    reason: Message | None = Field(default=None, description="Why it is dismissed (staff only)")
    message: Message | None = Field(default=None, description="What the reporter is told (default: a standard text)")


class TriageResult(Public):
    report: StaffReportPublic
    outcome: Literal["created", "matched", "reopened", "dismissed"]
    household: HouseholdBrief | None
