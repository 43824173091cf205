"""API shapes of photos and of the tus ``Upload-Metadata`` (``docs/data-model.md`` photo, ``docs/uploads.md``)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from app.core.times import rfc3339
from app.media.models import Photo

ITEM_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


def normalize_sha256(value: str) -> str:
    """A sha256 given as hex (64 digits) or base64 (standard or URL-safe, padded or not) → lowercase hex."""
    text = value.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text).hex()
        except ValueError:
            pass
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a sha256 in hex or base64") from exc
    if len(raw) != 32:
        raise ValueError("not a sha256 in hex or base64")
    return raw.hex()


class UploadMetadata(BaseModel):
    """What ``Upload-Metadata`` carries. Keys other clients add (``name``, ``type``, ``relativePath``)
    are tolerated; ``name``/``type`` stand in for ``filename``/``filetype``."""

    model_config = ConfigDict(extra="ignore")

    photo_id: uuid.UUID
    visit_id: uuid.UUID
    sha256: str
    filename: str | None = Field(default=None, max_length=255)
    filetype: str | None = Field(default=None, max_length=100)
    item_key: str | None = Field(default=None, pattern=ITEM_KEY_PATTERN)
    caption: str | None = Field(default=None, max_length=2000)
    taken_at: AwareDatetime | None = None

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        return normalize_sha256(value)

    def stored(self) -> dict[str, object]:
        """The parts the photo record needs later (JSON-safe)."""
        return {
            "filename": self.filename,
            "filetype": self.filetype,
            "item_key": self.item_key,
            "caption": self.caption,
            "taken_at": rfc3339(self.taken_at),
        }


class PhotoPublic(BaseModel):
    id: uuid.UUID
    version: int
    visit_id: uuid.UUID
    household_id: uuid.UUID | None
    item_key: str | None
    caption: str | None
    taken_at: datetime | None
    sha256: str = Field(description="sha256 (hex) of the stored file that content_url serves (its ETag)")
    original_sha256: str = Field(description="sha256 (hex) of the file as uploaded, before metadata was stripped")
    size: int
    width: int
    height: int
    content_type: str
    content_url: str
    thumbnail_url: str
    uploaded_by_id: uuid.UUID
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, photo: Photo) -> PhotoPublic:
        return cls(
            id=photo.id,
            version=photo.version,
            visit_id=photo.visit_id,
            household_id=photo.household_id,
            item_key=photo.item_key,
            caption=photo.caption,
            taken_at=photo.taken_at,
            sha256=photo.sha256,
            original_sha256=photo.original_sha256,
            size=photo.size,
            width=photo.width,
            height=photo.height,
            content_type=photo.content_type,
            content_url=content_url(photo.id),
            thumbnail_url=thumbnail_url(photo.id),
            uploaded_by_id=photo.uploaded_by_id,
            created_at=photo.created_at,
            updated_at=photo.updated_at,
        )


def content_url(photo_id: uuid.UUID) -> str:
    return f"/v1/photos/{photo_id}/content"


def thumbnail_url(photo_id: uuid.UUID) -> str:
    return f"/v1/photos/{photo_id}/thumbnail"


class PhotoUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: str | None = Field(default=None, max_length=2000)
    item_key: str | None = Field(default=None, pattern=ITEM_KEY_PATTERN)


class ExpectedPhotoStatus(BaseModel):
    key: str
    label: object = Field(description="As the visit names it (a string, or {ko, en})")
    status: Literal["missing", "uploading", "failed", "verified"] = Field(
        description="verified: a photo for this key arrived and passed verification and processing; "
        "uploading: an upload for it is under way or its picture is being processed; failed: its latest "
        "upload was refused (see failure) and none is under way; missing: none of these"
    )
    failure: str | None = Field(
        default=None, description="For failed: why (a problem type slug, e.g. image-unreadable)"
    )
    photo_ids: list[uuid.UUID]


class UploadState(BaseModel):
    """An upload of the visit whose bytes all arrived but which has no photo (yet)."""

    upload_id: uuid.UUID
    photo_id: uuid.UUID
    item_key: str | None
    status: Literal["processing", "failed"] = Field(
        description="processing: every byte is in and checked, the picture is being processed; failed: it "
        "was refused (see failure), upload it again if it can be fixed"
    )
    failure: str | None = Field(default=None, description="For failed: a problem type slug")
    updated_at: datetime


class VisitPhotos(BaseModel):
    visit_id: uuid.UUID
    items: list[PhotoPublic]
    next_cursor: str | None = None
    expected: list[ExpectedPhotoStatus]
    complete: bool = Field(description="Every expected photo has arrived and been verified and processed")
    uploads: list[UploadState] = Field(
        default_factory=list,
        description="The visit's uploads whose picture is being processed, or was refused, and that have no "
        "photo: how a phone learns what became of a file it sent (newest first, at most 100)",
    )
