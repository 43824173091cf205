"""API shapes of campaigns and their summaries (never table objects)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.core.times import Day
from app.households.models import RiskLevel, SignalSource

AdminCode = Annotated[str, StringConstraints(pattern=r"^\d{5}(\d{5})?$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=4000)]


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
