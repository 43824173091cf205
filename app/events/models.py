"""The transactional outbox (docs/integrations.md, Events): events written in the same transaction as the
change, and the webhook subscriptions and deliveries that carry them to other systems."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type, utcnow

EVENT_TYPES = (
    "visit.completed",
    "household.risk_changed",
    "household.recurrence",
    "household.merged",  # app.households.merge
    "household.unmerged",
    "support.status_changed",
    "report.triaged",
    # contact attempts and reachability, facilities, reporters' progress (app.contacts, app.winter, app.reports)
    "contact_attempt.recorded",
    "household.unreachable",
    "household.reached",
    "facility.urgent",
    "report.status_changed",
    # winter operations (docs/winter.md, app.winter)
    "deadline.at_risk",
    "deadline.overdue",
    "alert.created",
    "task.overdue",
    # a worker's open work moved to others (app.work): one per visit, case, plan or task
    "work.reassigned",
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


class DeliveryStatus(StrEnum):
    #: Waiting for its first attempt (or claimed by a worker right now: see ``lease_until``).
    pending = "pending"
    #: An attempt failed; the next one is due at ``next_attempt_at``.
    retrying = "retrying"
    delivered = "delivered"
    #: Gave up after the last attempt: the dead-letter list, redelivered by hand.
    dead = "dead"


class WebhookSubscription(BaseTable, table=True):
    """Where one integration client wants events POSTed. Its ``secret`` signs every delivery; it is kept
    encrypted at rest (AES-GCM, ``Security.encrypt``) because signing needs it back in clear."""

    __tablename__ = "webhook_subscription"

    #: The integration client the events are for: its jurisdiction and scopes decide what it receives.
    owner_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    secret_ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = Field(default=True)
    #: Outbox ``seq`` up to which events have been turned into deliveries (updated without a version bump).
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(BaseTable, table=True):
    """One event for one subscription, through its attempts. Claimed by a worker with a lease."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription_created", "subscription_id", "created_at"),
    )

    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscription.id")
    event_id: uuid.UUID
    event_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_type: str = Field(max_length=64)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=enum_type(DeliveryStatus, 16))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=200)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dead_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    redeliveries: int = Field(default=0)
    #: The latest attempts: [{"at", "status_code", "error", "ms"}], newest last, at most 20.
    attempt_log: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
