"""API shapes of destruction records."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DestructionRecordPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    household_id: uuid.UUID
    district_code: str
    dong_code: str
    rule: str
    retention_days: int
    closed_at: datetime | None
    kinds: list[str]
    counts: dict[str, int]
    job: str
    destroyed_at: datetime
