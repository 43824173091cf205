"""API shapes of the audit trail and its monthly review."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    organization_id: uuid.UUID | None
    device_id: uuid.UUID | None
    action: str
    entity: str | None
    entity_id: uuid.UUID | None
    household_id: uuid.UUID | None
    purpose: str | None
    address: str | None
    result: str
    details: dict[str, Any]
    device_skew_ms: int | None


class UserAccessSummary(BaseModel):
    user_id: uuid.UUID
    username: str | None
    display_name: str | None
    role: str | None
    organization_id: uuid.UUID | None
    organization_name: str | None
    household_reads: int
    household_writes: int
    reveals: int
    distinct_households: int
    denied: int
    events: int
    first_at: datetime | None
    last_at: datetime | None


class MonthlyTotals(BaseModel):
    users: int
    household_reads: int
    household_writes: int
    reveals: int
    denied: int


class MonthlyReport(BaseModel):
    month: str
    timezone: str
    period_start: datetime
    period_end: datetime
    users: list[UserAccessSummary]
    totals: MonthlyTotals
    #: What a reviewer should look at (working hours and thresholds: ``ONGI_REVIEW_*``), most first.
    flags: list[ReviewFlag] = []
    working_hours: str = ""
    #: The reviewer's sign-off of this month for the admin's organization, once given.
    sign_off: SignOff | None = None


class ReviewFlag(BaseModel):
    """Something a PIPA reviewer looks at (docs/access.md, Audit)."""

    #: volume_spike | off_hours | reveals | large_export | denied
    kind: str
    user_id: uuid.UUID
    username: str | None = None
    #: How many events (household records touched, reveals, exported records, denied attempts).
    count: int
    #: volume_spike: the actor's median monthly volume over the three months before.
    baseline: float | None = None
    #: large_export: which export (its ``X-Export-Id``) and the reason it gave.
    export_id: str | None = None
    reason: str | None = None


class SignOffCreate(BaseModel):
    comment: str = Field(min_length=2, max_length=2000)


class SignOff(BaseModel):
    month: str
    organization_id: uuid.UUID
    signed_by_id: uuid.UUID
    signed_by_name: str | None
    signed_at: datetime
    comment: str
    flag_counts: dict[str, int]


MonthlyReport.model_rebuild()
