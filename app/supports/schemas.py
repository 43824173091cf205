"""API shapes of supports and of a household's support ledger (never table objects)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.core.strict import NOT_BOOL
from app.core.times import Day
from app.resources.models import ResourceKind
from app.supports.models import SupportStatus

LongText = Annotated[str, StringConstraints(max_length=4000)]
ShortText = Annotated[str, StringConstraints(max_length=1000)]
Amount = Annotated[int, Field(ge=0, le=1_000_000_000), NOT_BOOL]
Interval = Annotated[int, Field(ge=1, le=365), NOT_BOOL]


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
