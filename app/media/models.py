"""Photos and the tus uploads that bring them in (``docs/data-model.md`` photo, ``docs/uploads.md``).

* :class:`Upload` is one tus upload resource: who uploads what to which visit, how many bytes have been
  durably received (``offset_bytes``) and where they are staged (``segments``: one storage object per
  accepted PATCH). ``lease_token``/``lease_until`` is the short lock a PATCH holds while it streams; it
  expires on its own, so a crashed request never blocks a resume for longer than the lease. The same
  lease is held while a fully received upload is processed in the background (status ``processing``).
* :class:`Photo` is the verified, stripped file a visit holds; phones receive it by sync (``photo``).
  Files are content-addressed in storage (``photos/<sha256>``), so identical content is stored once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type


class UploadStatus(StrEnum):
    open = "open"  # receiving bytes
    #: All bytes in, durable and (once the last PATCH was answered) hash and type checked; the picture is
    #: being processed under the lease (``lease_token``/``lease_until``), by whoever holds it.
    processing = "processing"
    completed = "completed"  # the photo exists
    failed = "failed"  # refused (``failure`` says why), before or after the last 204; bytes discarded
    terminated = "terminated"  # the client deleted it (tus termination)
    expired = "expired"  # not finished before ``expires_at``; bytes discarded


#: States in which an upload no longer accepts anything.
GONE = frozenset({UploadStatus.failed, UploadStatus.terminated, UploadStatus.expired})


class Upload(BaseTable, table=True):
    __tablename__ = "upload"
    __table_args__ = (Index("ix_upload_status_expires", "status", "expires_at"),)

    uploader_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    visit_id: uuid.UUID = Field(foreign_key="visit.id", index=True)
    #: The phone's id for the photo; becomes ``photo.id``.
    photo_id: uuid.UUID = Field(index=True)
    length: int = Field(sa_column=Column(BigInteger, nullable=False))
    offset_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    #: ``Upload-Metadata`` as the client sent it (echoed by HEAD).
    metadata_header: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Parsed metadata the photo needs: filename, filetype, item_key, caption, taken_at.
    meta: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: Expected sha256 of the whole file (hex), from ``Upload-Metadata``.
    sha256: str = Field(max_length=64)
    #: Staged bytes: [{"key": storage key, "offset": int, "size": int}] in offset order.
    segments: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    status: UploadStatus = Field(default=UploadStatus.open, sa_type=enum_type(UploadStatus, 16))
    #: Why verification refused the file (a problem slug), for a failed upload.
    failure: str | None = Field(default=None, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    lease_token: uuid.UUID | None = Field(default=None)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Photo(BaseTable, table=True):
    __tablename__ = "photo"
    __sync_entity__ = "photo"
    __table_args__ = (Index("ix_photo_visit_created", "visit_id", "created_at"),)

    visit_id: uuid.UUID = Field(foreign_key="visit.id")
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id", index=True)
    #: An expected photo's key (``visit.expected_photos[].key``) or a checklist item's key.
    item_key: str | None = Field(default=None, max_length=100)
    caption: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    taken_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: sha256 (hex) of the stored file: what ``content_url`` serves, its ETag and its storage key.
    sha256: str = Field(max_length=64, index=True)
    #: sha256 (hex) of the file as the phone sent it (before metadata was stripped).
    original_sha256: str = Field(max_length=64)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    width: int
    height: int
    content_type: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    thumbnail_key: str = Field(max_length=200)
    thumbnail_sha256: str = Field(max_length=64)
    thumbnail_size: int
    uploaded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    upload_id: uuid.UUID | None = Field(default=None, foreign_key="upload.id")
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
