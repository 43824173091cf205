"""What other systems imported, so that an import is idempotent (docs/integrations.md §2).

One row per (source, external id): the sha256 of the last accepted payload, the household it landed on
and the last result. The same payload again is ``unchanged`` and writes nothing; a new payload for the
same key records one more signal on the household.

Spreadsheets uploaded over REST are :class:`ImportJob` rows (status, counters, lease) with one
:class:`ImportRow` per row imported (its result), see :mod:`app.integrations.imports`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import BaseTable, JSONType, UTCDateTime, utcnow


class ImportRecord(BaseTable, table=True):
    __tablename__ = "integration_import"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    source: str = Field(max_length=32)
    external_id: str = Field(max_length=200)
    #: sha256 (hex) of the canonical JSON of the last accepted payload.
    payload_sha256: str = Field(max_length=64)
    household_id: uuid.UUID = Field(foreign_key="household.id", index=True)
    #: The signal the last accepted payload recorded.
    signal_id: uuid.UUID | None = Field(default=None, foreign_key="signal.id")
    #: created | updated | matched | reopened
    last_result: str = Field(max_length=16)
    #: The integration client (or console user) that sent the last accepted payload.
    client_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    #: How many distinct payloads were accepted for this key.
    accepted: int = Field(default=1)
    last_imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ImportJob(BaseTable, table=True):
    """A spreadsheet uploaded to ``POST /v1/integrations/imports``, imported in the background.

    Whoever holds the lease (``lease_token`` until ``lease_until``) imports it: the API process that received
    it, or — when that process died — any API process or worker that finds the lease expired (a
    compare-and-set takes it over). Every batch commits its rows' results and these counters in the same
    transaction as the rows' writes, under a check that the lease is still held, so a job taken over resumes
    after ``last_line`` and no row is imported or counted twice.
    """

    __tablename__ = "integration_import_job"
    __table_args__ = (Index("ix_integration_import_job_status_lease", "status", "lease_until"),)

    #: queued | running | done | failed
    status: str = Field(default="queued", max_length=16)
    #: csv | xlsx
    file_format: str = Field(max_length=8)
    #: Where the uploaded file is kept until the import is done (storage key; deleted when done or failed).
    storage_key: str | None = Field(default=None, max_length=200)
    size_bytes: int = Field(default=0, sa_type=BigInteger)
    submitted_by_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    #: Source of rows without a source column.
    default_source: str | None = Field(default=None, max_length=32)
    sheet: str | None = Field(default=None, max_length=100)
    #: Data rows in the file (known once it was read; an estimate for XLSX).
    rows_total: int | None = Field(default=None)
    rows: int = Field(default=0)
    applied: int = Field(default=0)
    unchanged: int = Field(default=0)
    rejected: int = Field(default=0)
    #: created / matched / updated / reopened counts (``applied`` is their sum).
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: The last spreadsheet row whose result is committed (a resumed import starts after it).
    last_line: int = Field(default=0)
    lease_token: uuid.UUID | None = Field(default=None)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Why a failed import stopped (a problem slug, never row data).
    error: str | None = Field(default=None, max_length=64)


class ImportRow(SQLModel, table=True):
    """The result of one row of an :class:`ImportJob`: the household it landed on, or why it was refused."""

    __tablename__ = "integration_import_row"

    job_id: uuid.UUID = Field(foreign_key="integration_import_job.id", primary_key=True)
    line: int = Field(primary_key=True)
    external_id: str | None = Field(default=None, max_length=200)
    #: created | updated | unchanged | matched | reopened | rejected
    status: str = Field(max_length=16)
    household_id: uuid.UUID | None = Field(default=None)
    #: [{field, code, message}] for a refused row.
    errors: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    #: Possible duplicates of the household: [{household_id, reasons}].
    duplicates: list[dict[str, object]] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
