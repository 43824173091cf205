"""Destruction records (docs/operations.md, Retention): what was destroyed, when, under which rule, by which job.

A record names the household only by id and keeps what statistics need (district and dong codes) and
counts; never a name, a contact or a text.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, utcnow


class DestructionRecord(BaseTable, table=True):
    __tablename__ = "destruction_record"
    __table_args__ = (
        Index("ix_destruction_record_at", "destroyed_at", "id"),
        Index("ix_destruction_record_household", "household_id"),
    )

    household_id: uuid.UUID
    district_code: str = Field(max_length=5)
    dong_code: str = Field(max_length=10)
    #: household_closed | photos_after_closure | notes_after_closure
    rule: str = Field(max_length=32)
    #: The retention period the rule applied, in days, and the closure it counted from.
    retention_days: int
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Which kinds of data were destroyed: household, members, contacts, sensitive, notes, photos, …
    kinds: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: How many of each (rows and storage objects).
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: The job that did it (``retention-destroy`` for the worker, ``cli:destroy-expired`` for the command).
    job: str = Field(max_length=64)
    destroyed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
