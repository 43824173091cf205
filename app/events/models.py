"""The transactional outbox (DESIGN §6): events written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, utcnow

EVENT_TYPES = (
    "visit.completed",
    "household.risk_changed",
    "household.recurrence",
    "support.status_changed",
    "report.triaged",
)


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_type_seq", "type", "seq"),)

    #: Commit-ordered number (shared counter with the change log); ``GET /v1/events?after=`` pages by it.
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    type: str = Field(max_length=64)
    #: Ids and codes only; consumers fetch details through the API with their own access.
    payload: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    household_id: uuid.UUID | None = Field(default=None, index=True)
    district_code: str | None = Field(default=None, max_length=10)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
