"""Notifications sent to people (docs/winter.md: reporters hear back), and the outbox positions their jobs read.

A notification is written once per thing to tell (``dedupe_key`` is unique: a report's move to one status is
told once), in the same transaction as what it tells of; the worker sends it through the configured
provider and marks it ``sent``. Its text is rendered at send time from ``template`` and ``params`` (ids and
codes, never personal data); the recipient's address is read from their user record at send time and is not
copied here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type, utcnow


class NotificationStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    #: No address to send to, or the provider refused it after the last attempt.
    failed = "failed"


class Notification(BaseTable, table=True):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)

    recipient_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    #: What it is about, e.g. ``report:<id>:visited``; one notification per key, ever.
    dedupe_key: str = Field(max_length=200, unique=True)
    #: An i18n message key rendered at send time, with ``params``.
    template: str = Field(max_length=100)
    params: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    status: NotificationStatus = Field(default=NotificationStatus.pending, sa_type=enum_type(NotificationStatus, 16))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider: str | None = Field(default=None, max_length=32)
    #: The provider's message id (kept to answer "was it sent?").
    provider_ref: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)


class OutboxReader(SQLModel, table=True):
    """How far a background reader of the outbox got (``outbox_event.seq``)."""

    __tablename__ = "outbox_reader"

    name: str = Field(max_length=64, primary_key=True)
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
