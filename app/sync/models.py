"""The change log that sync pulls read, and what each device holds (DESIGN §4)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import BaseTable, UTCDateTime, utcnow


class ChangeCounter(SQLModel, table=True):
    """One row. Taking it with ``UPDATE … RETURNING`` at the end of a writing transaction serializes the
    moment writers number their changes, so change numbers are handed out in commit order, also on
    PostgreSQL where plain sequence values can commit out of order."""

    __tablename__ = "change_counter"

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class ChangeLog(SQLModel, table=True):
    """One row per committed change of a record the phone holds."""

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_household_seq", "household_id", "seq"),
        Index("ix_change_log_visit_seq", "visit_id", "seq"),
        Index("ix_change_log_entity_id", "entity", "entity_id"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    entity: str = Field(max_length=32)
    entity_id: uuid.UUID
    version: int
    op: str = Field(max_length=16)  # upsert | delete
    household_id: uuid.UUID | None = Field(default=None)
    visit_id: uuid.UUID | None = Field(default=None)
    case_id: uuid.UUID | None = Field(default=None)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeviceHolding(BaseTable, table=True):
    """What the server sent to a device and the device has not confirmed purging."""

    __tablename__ = "device_holding"
    __table_args__ = (UniqueConstraint("device_id", "entity", "entity_id"),)

    device_id: uuid.UUID = Field(foreign_key="device.id", index=True)
    entity: str = Field(max_length=32)
    entity_id: uuid.UUID
    held_version: int
    household_id: uuid.UUID | None = Field(default=None, index=True)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    hold_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Set when a revoke was sent; the row goes when the device acknowledges the purge.
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
