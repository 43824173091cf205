"""The signed form of a consent record (issue 19, docs/access.md, docs/uploads.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from app.core.db import BaseTable, UTCDateTime, utcnow


class ConsentForm(BaseTable, table=True):
    """The signed form of one consent: one per consent, never replaced by other bytes (a wrong form means a
    new consent record). Images are stored cleaned (no EXIF/GPS), PDFs as they came."""

    __tablename__ = "consent_form"
    __table_args__ = (
        Index("ux_consent_form_consent", "consent_id", unique=True),
        Index("ix_consent_form_household", "household_id"),
    )

    consent_id: uuid.UUID = Field(foreign_key="consent.id")
    household_id: uuid.UUID = Field(foreign_key="household.id")
    storage_key: str = Field(max_length=300)
    content_type: str = Field(max_length=100)
    size: int
    #: sha256 of the stored file (the cleaned image, or the PDF).
    sha256: str = Field(max_length=64)
    #: sha256 of the bytes as uploaded: a retried upload of the same file is recognised by it.
    source_sha256: str = Field(max_length=64)
    uploaded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
