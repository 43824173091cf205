"""API shapes of the audit trail and its monthly review."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
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
