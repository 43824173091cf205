"""What every stage of an upload shares: its lease, its staged bytes, and the problems they raise
(``docs/uploads.md``).

An upload moves through short database transactions, never one held while bytes stream; between them a
request (or a background task) holds the upload's *lease*, a compare-and-set on ``lease_token`` and
``lease_until`` (:class:`~app.media.repository.UploadRepository`). A lease whose holder crashed expires after
:data:`LEASE_SECONDS`. The received bytes are *staged* in storage under :func:`staging_prefix`, one object
per PATCH (its segment), until processing stores the clean picture and purges them.

:class:`Stage` holds the steps receiving (:mod:`app.media.uploads`), processing (:mod:`app.media.processing`)
and cleanup (:mod:`app.media.cleanup`) all take: renew or release a lease, fail an upload, purge its
staged bytes.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.errors import Conflict, Gone, Problem
from app.core.principal import Principal
from app.core.state import AppState
from app.core.uow import open_session
from app.media.models import GONE, Photo, Upload, UploadStatus
from app.media.repository import UploadRepository
from app.media.storage import Storage, get_storage

log = structlog.get_logger("ongi.media")

#: How long a PATCH's lock on its upload lasts without being renewed (renewed while bytes keep arriving).
LEASE_SECONDS = 60

#: Response headers telling a phone what became of an upload (``open``, ``processing``, ``completed``,
#: ``failed``, ``terminated``, ``expired``) and, for a failed one, why (a problem slug such as
#: ``image-unreadable``).
STATUS_HEADER = "Ongi-Upload-Status"
FAILURE_HEADER = "Ongi-Upload-Failure"


def staging_prefix(upload_id: uuid.UUID) -> str:
    return f"uploads/{upload_id}/"


def upload_gone() -> Problem:
    return Gone("upload-gone", "uploads.gone")


def upload_busy() -> Problem:
    problem = Conflict("upload-busy", "uploads.busy")
    problem.headers["Retry-After"] = "1"
    return problem


def storage_unavailable() -> Problem:
    return Problem(503, "unavailable", "uploads.storage-unavailable", headers={"Retry-After": "5"})


def photo_exists() -> Problem:
    return Conflict("photo-exists", "uploads.photo-exists")


@dataclass
class UploadView:
    """What tus responses report about an upload."""

    id: uuid.UUID
    length: int
    offset: int
    status: UploadStatus
    expires_at: datetime
    metadata_header: str | None
    #: Why the upload was refused (a problem slug), for a failed one.
    failure: str | None = None

    @classmethod
    def of(cls, upload: Upload) -> UploadView:
        return cls(
            id=upload.id,
            length=upload.length,
            offset=upload.offset_bytes,
            status=upload.status,
            expires_at=upload.expires_at,
            metadata_header=upload.metadata_header,
            failure=upload.failure,
        )


@dataclass
class Lease:
    """A PATCH's (or a background task's) hold on an upload, with what it needs to know about the upload."""

    upload_id: uuid.UUID
    token: uuid.UUID
    principal: Principal
    offset: int
    length: int
    segments: list[dict[str, Any]]
    sha256: str
    visit_id: uuid.UUID
    photo_id: uuid.UUID
    meta: dict[str, Any]
    expires_at: datetime
    renewed: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, upload: Upload, principal: Principal, token: uuid.UUID) -> Lease:
        return cls(
            upload_id=upload.id,
            token=token,
            principal=principal,
            offset=upload.offset_bytes,
            length=upload.length,
            segments=list(upload.segments or []),
            sha256=upload.sha256,
            visit_id=upload.visit_id,
            photo_id=upload.photo_id,
            meta=dict(upload.meta or {}),
            expires_at=upload.expires_at,
        )


def lease_until() -> datetime:
    return utcnow() + timedelta(seconds=LEASE_SECONDS)


class StagingBroken(Exception):
    """The recorded segments do not add up to the upload (should never happen)."""


def ordered_keys(lease: Lease) -> list[str]:
    """The staged segments' storage keys in offset order; raises when they do not add up to the upload."""
    segments = sorted(lease.segments, key=lambda s: int(s["offset"]))
    expected = 0
    for segment in segments:
        if int(segment["offset"]) != expected:
            raise StagingBroken(f"gap at {expected}")
        expected += int(segment["size"])
    if expected != lease.length:
        raise StagingBroken(f"{expected} of {lease.length} bytes staged")
    return [str(segment["key"]) for segment in segments]


def is_gone(upload: Upload) -> bool:
    if upload.status in GONE:
        return True
    return upload.status == UploadStatus.open and upload.expires_at <= utcnow()


def same_photo(photo: Photo, visit_id: uuid.UUID, original_sha256: str) -> bool:
    """Whether an existing photo is this very upload again (same visit, same bytes, not deleted)."""
    return photo.deleted_at is None and photo.visit_id == visit_id and photo.original_sha256 == original_sha256


class Stage:
    """The steps every stage of an upload takes, each in its own short transaction."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings
        self.storage: Storage = get_storage(state)

    def _session(self, *, write: bool) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        return open_session(self.state.sessionmaker, write=write)

    async def _renew(self, lease: Lease) -> bool:
        async with self._session(write=True) as session:
            ok = await UploadRepository(session).renew_lease(lease.upload_id, lease.token, lease_until())
        lease.renewed = time.monotonic()
        return ok

    async def release(self, lease: Lease) -> None:
        """Give the lease back without changing anything (best effort: it expires anyway)."""
        try:
            with anyio.CancelScope(shield=True):
                async with self._session(write=True) as session:
                    await UploadRepository(session).release_lease(lease.upload_id, lease.token)
        except Exception:
            log.warning("upload_lease_release_failed", upload_id=str(lease.upload_id), exc_info=True)

    async def _discard(self, key: str) -> None:
        try:
            await self.storage.delete(key)
        except Exception:
            log.warning("staged_segment_delete_failed", key=key, exc_info=True)

    async def _staging_lost(self, lease: Lease, exc: Exception) -> Problem:
        """The staged bytes are not all there (lost storage): the upload fails, the client sends it again."""
        await self._fail(lease, "staging-lost")
        log.error("upload_staging_lost", upload_id=str(lease.upload_id), error=str(exc))
        return Problem(500, "upload-lost", "uploads.staging-lost")

    async def _fail(self, lease: Lease, reason: str) -> None:
        with anyio.CancelScope(shield=True):
            async with self._session(write=True) as session:
                await UploadRepository(session).mark_failed(lease.upload_id, lease.token, reason)
        await self.purge_staging(lease.upload_id)

    async def purge_staging(self, upload_id: uuid.UUID) -> None:
        """Remove an upload's staged bytes, then forget its segments (a failure leaves them for cleanup)."""
        try:
            with anyio.CancelScope(shield=True):
                await self.storage.delete_prefix(staging_prefix(upload_id))
                async with self._session(write=True) as session:
                    await UploadRepository(session).forget_segments(upload_id)
        except Exception:
            log.warning("upload_staging_purge_failed", upload_id=str(upload_id), exc_info=True)
