"""What other systems imported, so that an import is idempotent (DESIGN §6).

One row per (source, external id): the sha256 of the last accepted payload, the household it landed on
and the last result. The same payload again is ``unchanged`` and writes nothing; a new payload for the
same key records one more signal on the household.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from app.core.db import BaseTable, UTCDateTime, utcnow


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
