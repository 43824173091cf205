"""The append-only audit trail (docs/access.md, Audit; docs/data-model.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, utcnow


class AuditEvent(BaseTable, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_actor_at", "actor_id", "at"),
        Index("ix_audit_event_household_at", "household_id", "at"),
    )

    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: uuid.UUID | None = Field(default=None)
    actor_role: str | None = Field(default=None, max_length=16)
    organization_id: uuid.UUID | None = Field(default=None)
    device_id: uuid.UUID | None = Field(default=None)
    action: str = Field(max_length=64)
    entity: str | None = Field(default=None, max_length=64)
    entity_id: uuid.UUID | None = Field(default=None)
    household_id: uuid.UUID | None = Field(default=None)
    purpose: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=64)
    result: str = Field(default="ok", max_length=32)
    #: Ids and counts only; never personal data.
    details: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: Estimated device clock skew (device minus server), when the request came from a phone.
    device_skew_ms: int | None = Field(default=None)


class AuditReviewSignOff(BaseTable, table=True):
    """A reviewer's sign-off of one month's access review (docs/access.md, Audit), once per organization and month."""

    __tablename__ = "audit_review_signoff"
    __table_args__ = (UniqueConstraint("organization_id", "month"),)

    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    #: YYYY-MM in the service time zone.
    month: str = Field(max_length=7)
    signed_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    comment: str = Field(sa_column=Column(Text, nullable=False))
    #: The flags the report showed when it was signed (counts by kind), so later changes are visible.
    flag_counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
