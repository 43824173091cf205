"""The change log that sync pulls read, and what each device holds (docs/sync.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.db import BaseTable, JSONType, UTCDateTime, utcnow


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
    """What the server sent to a device, confirmed or not.

    ``held_version`` is what the device held before the last send; ``sent_*`` is the last send, held once the device
    pulls with its batch's cursor or a later one (the rules of :func:`app.sync.holdings.confirmed_rows`), forgotten
    when the device retries an older cursor (lost with its response). The next send of the record folds a send
    received into ``held_*``; nothing is written when a batch is merely received.
    ``revoked_at`` marks a record the device was told to purge; the row goes when the device acks.
    """

    __tablename__ = "device_holding"
    __table_args__ = (
        UniqueConstraint("device_id", "entity", "entity_id"),
        # the sends by batch: a pull reads the sends of lost batches (after its cursor) as a range of it. A send
        # received keeps its batch until the record is sent again (app.sync.state.confirm_batch)
        Index(
            "ix_device_holding_device_batch",
            "device_id",
            "sent_batch",
            postgresql_where=text("sent_batch IS NOT NULL"),
            sqlite_where=text("sent_batch IS NOT NULL"),
        ),
        # the deletes sent: those received go on the next pull, a range as long as they are
        Index(
            "ix_device_holding_device_deletes",
            "device_id",
            "sent_batch",
            postgresql_where=text("sent_op = 'delete'"),
            sqlite_where=text("sent_op = 'delete'"),
        ),
        # the device's holdings of a household's visits and cases (a content pull): entity in the key, so a
        # household whose notes the device holds by the hundred thousand is not read note by note
        Index("ix_device_holding_device_household", "device_id", "household_id", "entity"),
    )

    device_id: uuid.UUID = Field(foreign_key="device.id")
    entity: str = Field(max_length=32)
    entity_id: uuid.UUID
    #: read only with the device (the (device, household, entity) index): no index of its own to keep up
    household_id: uuid.UUID | None = Field(default=None)
    held_version: int | None = Field(default=None)
    #: Which redaction of the record the device holds (e.g. a visit with or without its household).
    held_view: str | None = Field(default=None, max_length=8)
    sent_version: int | None = Field(default=None)
    sent_view: str | None = Field(default=None, max_length=8)
    sent_op: str | None = Field(default=None, max_length=16)
    sent_batch: int | None = Field(default=None)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The lease given with the record when it was sent; the lease a pull renews on everything the device
    #: holds is the device's (``DeviceSyncState.hold_until``). The record's lease is the later of the two.
    hold_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeviceSyncState(BaseTable, table=True):
    """Per device: the last batch handed out and what its cursor stood for."""

    __tablename__ = "device_sync_state"

    device_id: uuid.UUID = Field(foreign_key="device.id", unique=True)
    batch: int = Field(default=0)
    #: The change number the last complete diff was computed at.
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    scope_day: str = Field(default="", max_length=10)
    has_more: bool = Field(default=False)
    checksum: str = Field(default="", max_length=64)
    renew_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The lease the last renewal gave everything the device held then (docs/sync.md#pull ``hold_until``):
    #: one value per device, so renewing costs one row, not one per holding.
    hold_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_pull_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_push_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Estimated device clock minus server clock, smoothed over pushes.
    clock_skew_ms: int | None = Field(default=None)


class SyncMutation(BaseTable, table=True):
    """Each pushed mutation once per device, with its first result (idempotency)."""

    __tablename__ = "sync_mutation"
    __table_args__ = (UniqueConstraint("device_id", "mutation_id"),)

    device_id: uuid.UUID = Field(foreign_key="device.id")
    mutation_id: uuid.UUID
    entity: str = Field(max_length=32)
    entity_id: uuid.UUID | None = Field(default=None)
    op: str = Field(max_length=16)
    status: str = Field(max_length=16)
    result: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    device_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FieldStamp(SQLModel, table=True):
    """The record version at which a patchable field last changed, for per-field merges of pushes."""

    __tablename__ = "field_stamp"

    entity: str = Field(max_length=32, primary_key=True)
    entity_id: uuid.UUID = Field(primary_key=True)
    field: str = Field(max_length=64, primary_key=True)
    version: int


class SyncConflict(BaseTable, table=True):
    """A value a phone pushed that lost to the server's: kept, never silently dropped."""

    __tablename__ = "sync_conflict"

    device_id: uuid.UUID = Field(foreign_key="device.id", index=True)
    mutation_id: uuid.UUID
    entity: str = Field(max_length=32)
    entity_id: uuid.UUID = Field(index=True)
    field: str = Field(max_length=64)
    device_value: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    server_value: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    base_version: int | None = Field(default=None)
