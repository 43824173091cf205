"""The rules of uploads and photos (DESIGN §5).

An upload moves through short database transactions, never one held while bytes stream:

1. **acquire** (one transaction): authenticate, check that the caller is the uploader and still on the
   visit's team, that the offset matches, and take the upload's *lease* with a compare-and-set
   (``lease_token``/``lease_until``). A second PATCH meanwhile finds the lease and gets 409; a lease whose
   request crashed expires after :data:`LEASE_SECONDS`, so nothing blocks a resume for long.
2. **receive** (no transaction): the body streams into a new storage object (one per PATCH, named by its
   offset and lease), hashed on the way for ``Upload-Checksum`` and, while this process has seen every byte
   so far, for the whole file's sha256 (:class:`RunningHashes`). A dropped connection or a stalled one
   (:data:`IDLE_TIMEOUT_SECONDS`) keeps what arrived.
3. **commit** (one transaction, compare-and-set on the lease): the offset grows by what was durably
   written (fsynced, or stored by S3), the segment is recorded, the lease is released. Only now does
   ``HEAD`` report the new offset. The last segment instead moves the upload to ``processing`` and keeps
   the lease.
4. **accept** (the final PATCH): the whole-file sha256 is checked against ``Upload-Metadata`` (from the
   running hash, or by reading the staged bytes again when another process received some of them) and the
   type is sniffed from the first bytes; a mismatch fails the upload and answers the problem. Otherwise the
   PATCH answers 204 at once, and
5. **process** runs in the background of the same process (a tracked task, :func:`spawn_processing`),
   holding the lease and bounded by the media limiter: the picture is stripped, verified by decoding and
   thumbnailed in a worker thread, the results are stored content-addressed (``photos/<sha256>``:
   identical content is stored once) and the photo record is written (with its audit event and sync
   change) in one transaction. A refused picture marks the upload ``failed`` with its reason, which the
   phone reads from ``HEAD`` and ``GET /v1/visits/{id}/photos``. An upload left ``processing`` by a process
   that died is finished once its lease expires, by the API process's resumer (started with the app) or
   by the worker's ``uploads-cleanup`` job; the lease's compare-and-set lets exactly one of them do it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from app.access.policy import (
    get_visit_or_404,
    get_visit_with_household_or_404,
    is_visit_team_member,
    partner_reach,
)
from app.audit import service as audit
from app.auth.models import Organization, Role, User
from app.auth.principal import Principal
from app.auth.service import principal_for, resolve_principal
from app.core.db import open_session, utcnow
from app.core.errors import Problem, not_found
from app.core.pagination import keyset_page
from app.core.state import AppState
from app.media import images
from app.media.models import GONE, Photo, Upload, UploadStatus
from app.media.schemas import (
    ExpectedPhotoStatus,
    PhotoPublic,
    PhotoUpdate,
    UploadMetadata,
    UploadState,
    VisitPhotos,
)
from app.media.storage import LocalStorage, ObjectMissing, Storage, StorageError, get_storage, scratch_dir
from app.visits.models import Visit

log = structlog.get_logger("ongi.media")

#: How long a PATCH's lock on its upload lasts without being renewed (renewed while bytes keep arriving).
LEASE_SECONDS = 60
#: A PATCH whose body stops arriving for this long ends as if the connection had dropped.
IDLE_TIMEOUT_SECONDS = 30
#: Image processing jobs at once per process. A picture stored turned is decoded and turned, which holds
#: it twice in memory (2 × 3 bytes a pixel), so one at a time; an upright one costs almost nothing.
IMAGE_JOBS = 1
#: Uploads whose whole-file sha256 this process keeps computing as their bytes arrive (least recently
#: used beyond that are forgotten; their completion then reads the staged bytes again).
RUNNING_HASHES = 64
#: How often the API process looks for uploads left ``processing`` by a process that died (seconds).
RESUME_INTERVAL = 60.0
#: How long shutdown lets background processing finish before cancelling it (seconds).
SHUTDOWN_GRACE = 10.0

#: Response headers telling a phone what became of an upload (``open``, ``processing``, ``completed``,
#: ``failed``, ``terminated``, ``expired``) and, for a failed one, why (a problem slug such as
#: ``image-unreadable``).
STATUS_HEADER = "Ongi-Upload-Status"
FAILURE_HEADER = "Ongi-Upload-Failure"

PHOTO_ROLES = frozenset({Role.coordinator, Role.planner, Role.partner})


def staging_prefix(upload_id: uuid.UUID) -> str:
    return f"uploads/{upload_id}/"


def content_key(sha256: str) -> str:
    return f"photos/{sha256[:2]}/{sha256}"


def thumbnail_key(sha256: str) -> str:
    return f"thumbnails/{sha256[:2]}/{sha256}"


def unauthenticated() -> Problem:
    return Problem(401, "unauthorized", "detail.missing-token")


def upload_gone() -> Problem:
    return Problem(410, "upload-gone", "uploads.gone")


def upload_busy() -> Problem:
    return Problem(409, "upload-busy", "uploads.busy", headers={"Retry-After": "1"})


def storage_unavailable() -> Problem:
    return Problem(503, "unavailable", "uploads.storage-unavailable", headers={"Retry-After": "5"})


@dataclass(frozen=True)
class Checksum:
    """A parsed ``Upload-Checksum``: algorithm name, its hashlib constructor and the expected digest."""

    algorithm: str
    factory: Callable[[], Any]
    digest: bytes


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
    """A PATCH's hold on an upload, with what it needs to know about the upload."""

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


@dataclass
class _RunningHash:
    """The sha256 of an upload's first ``offset`` bytes, and its first bytes (for sniffing the type)."""

    offset: int
    digest: Any
    head: bytes


class RunningHashes:
    """Whole-file sha256s of the uploads this process is receiving, kept as PATCH bodies stream, so that
    completion need not read the file again. Only valid while this process saw every byte of an upload
    (a resume on another process, or after a restart, starts without one). Small and bounded: at most
    :data:`RUNNING_HASHES` uploads, least recently used forgotten first."""

    def __init__(self, capacity: int = RUNNING_HASHES) -> None:
        self.capacity = capacity
        self._items: OrderedDict[uuid.UUID, _RunningHash] = OrderedDict()

    def start(self, upload_id: uuid.UUID, offset: int) -> _RunningHash | None:
        """A private copy to extend with the bytes of a PATCH at ``offset`` (``None``: not known here)."""
        if offset == 0:
            return _RunningHash(0, hashlib.sha256(), b"")
        known = self._items.get(upload_id)
        if known is None or known.offset != offset:
            return None
        return _RunningHash(known.offset, known.digest.copy(), known.head)

    def keep(self, upload_id: uuid.UUID, running: _RunningHash) -> None:
        self._items[upload_id] = running
        self._items.move_to_end(upload_id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def forget(self, upload_id: uuid.UUID) -> None:
        self._items.pop(upload_id, None)

    def __len__(self) -> int:
        return len(self._items)


def media_limiter(state: AppState) -> anyio.CapacityLimiter:
    """How many uploads this process processes at once (:data:`IMAGE_JOBS`)."""
    limiter = state.extras.get("media_image_limiter")
    if limiter is None:
        limiter = state.extras["media_image_limiter"] = anyio.CapacityLimiter(IMAGE_JOBS)
    return limiter  # type: ignore[no-any-return]


def running_hashes(state: AppState) -> RunningHashes:
    hashes = state.extras.get("media_running_hashes")
    if hashes is None:
        hashes = state.extras["media_running_hashes"] = RunningHashes()
    return hashes  # type: ignore[no-any-return]


class _StagingBroken(Exception):
    """The recorded segments do not add up to the upload (should never happen)."""


class _Abort(Exception):
    """Stop reading the body (the reason is in the receiver's flags)."""


@dataclass
class _Receiver:
    disconnected: bool = False
    too_long: bool = False
    not_image: bool = False
    lease_lost: bool = False
    received: int = 0


class UploadService:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings
        self.storage: Storage = get_storage(state)

    def _session(self, *, write: bool) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        return open_session(self.state.sessionmaker, write=write)

    async def _principal(self, session: AsyncSession, token: str | None, address: str | None) -> Principal:
        if not token:
            raise unauthenticated()
        principal = await resolve_principal(self.state, session, token, address)
        structlog.contextvars.bind_contextvars(actor=str(principal.user_id), role=principal.role.value)
        return principal

    async def _own_upload(self, session: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> Upload:
        upload = await session.get(Upload, upload_id)
        if upload is None or upload.uploader_id != principal.user_id:
            raise not_found()
        return upload

    def _expiry(self) -> datetime:
        return utcnow() + timedelta(hours=self.settings.upload_expiry_hours)

    # --- creation ------------------------------------------------------------------------------------------

    async def create(
        self,
        token: str | None,
        address: str | None,
        *,
        length: int,
        metadata_header: str | None,
        meta: UploadMetadata,
        lease: bool,
    ) -> tuple[UploadView, Lease | None]:
        """Create an upload (tus ``creation``); with ``lease`` it is created already held by this request,
        for ``creation-with-upload``."""
        async with self._session(write=True) as session:
            principal = await self._principal(session, token, address)
            # A photo of a home identifies the household: a partner without consent answers 404 here as for
            # the visit's notes and checklists (DESIGN §3.2).
            visit = await get_visit_with_household_or_404(session, principal, meta.visit_id)
            if not await is_visit_team_member(session, principal, visit.id):
                raise not_found()
            existing = await session.get(Photo, meta.photo_id)
            if existing is not None and not _same_photo(existing, visit.id, meta.sha256):
                raise Problem(409, "photo-exists", "uploads.photo-exists")
            token_value = uuid.uuid4() if lease else None
            upload = Upload(
                uploader_id=principal.user_id,
                visit_id=visit.id,
                photo_id=meta.photo_id,
                length=length,
                metadata_header=metadata_header,
                meta=meta.stored(),
                sha256=meta.sha256,
                expires_at=self._expiry(),
                lease_token=token_value,
                lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS) if lease else None,
            )
            session.add(upload)
            await session.flush()
            view = UploadView.of(upload)
            held = self._lease_of(upload, principal, token_value) if token_value else None
        log.info("upload_created", upload_id=str(upload.id), visit_id=str(visit.id), length=length)
        return view, held

    @staticmethod
    def _lease_of(upload: Upload, principal: Principal, token: uuid.UUID) -> Lease:
        return Lease(
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

    # --- HEAD ----------------------------------------------------------------------------------------------

    async def status(self, token: str | None, address: str | None, upload_id: uuid.UUID) -> UploadView:
        async with self._session(write=False) as session:
            principal = await self._principal(session, token, address)
            upload = await self._own_upload(session, principal, upload_id)
            if _is_gone(upload):
                problem = upload_gone()
                # HEAD carries no body: the headers say what became of it (and why it was refused).
                status = UploadStatus.expired if upload.status == UploadStatus.open else upload.status
                problem.headers[STATUS_HEADER] = status.value
                if upload.failure:
                    problem.headers[FAILURE_HEADER] = upload.failure
                raise problem
            return UploadView.of(upload)

    # --- PATCH ---------------------------------------------------------------------------------------------

    async def acquire(
        self,
        token: str | None,
        address: str | None,
        upload_id: uuid.UUID,
        offset: int,
        content_length: int | None,
    ) -> Lease | UploadView:
        """Take the upload's lease for a PATCH at ``offset``. Answers the upload's view instead when there is
        nothing to do (an empty PATCH at the end of a completed upload)."""
        async with self._session(write=True) as session:
            principal = await self._principal(session, token, address)
            upload = await self._own_upload(session, principal, upload_id)
            await get_visit_or_404(session, principal, upload.visit_id)
            if not await is_visit_team_member(session, principal, upload.visit_id):
                raise not_found()
            if _is_gone(upload):
                raise upload_gone()
            if offset != upload.offset_bytes:
                raise Problem(
                    409,
                    "upload-offset-mismatch",
                    "uploads.offset-mismatch",
                    params={"offset": upload.offset_bytes},
                    extra={"offset": upload.offset_bytes},
                    headers={"Upload-Offset": str(upload.offset_bytes)},
                )
            if content_length is not None and offset + content_length > upload.length:
                raise Problem(
                    413,
                    "payload-too-large",
                    "uploads.beyond-length",
                    params={"length": upload.length},
                    extra={"length": upload.length, "offset": upload.offset_bytes},
                )
            if upload.status in (UploadStatus.completed, UploadStatus.processing):
                # Every byte is in already (the last 204 may have been lost): nothing to do.
                return UploadView.of(upload)
            if upload.status != UploadStatus.open:
                raise upload_busy()
            now = utcnow()
            if upload.lease_token is not None and upload.lease_until is not None and upload.lease_until > now:
                raise upload_busy()
            new_token = uuid.uuid4()
            result = await session.execute(
                update(Upload)
                .where(
                    Upload.id == upload.id,
                    Upload.status == UploadStatus.open,
                    Upload.offset_bytes == offset,
                    or_(Upload.lease_token.is_(None), Upload.lease_until <= now),
                )
                .values(
                    lease_token=new_token,
                    lease_until=now + timedelta(seconds=LEASE_SECONDS),
                    version=Upload.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise upload_busy()
            lease = self._lease_of(upload, principal, new_token)
        return lease

    async def _renew(self, lease: Lease) -> bool:
        async with self._session(write=True) as session:
            result = await session.execute(
                update(Upload)
                .where(Upload.id == lease.upload_id, Upload.lease_token == lease.token)
                .values(lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS))
                .execution_options(synchronize_session=False)
            )
            ok = result.rowcount == 1  # type: ignore[attr-defined]
        lease.renewed = time.monotonic()
        return ok

    async def release(self, lease: Lease) -> None:
        """Give the lease back without changing anything (best effort: it expires anyway)."""
        try:
            with anyio.CancelScope(shield=True):
                async with self._session(write=True) as session:
                    await session.execute(
                        update(Upload)
                        .where(Upload.id == lease.upload_id, Upload.lease_token == lease.token)
                        .values(lease_token=None, lease_until=None, version=Upload.version + 1)
                        .execution_options(synchronize_session=False)
                    )
        except Exception:
            log.warning("upload_lease_release_failed", upload_id=str(lease.upload_id), exc_info=True)

    async def append(self, lease: Lease, body: AsyncIterator[bytes], checksum: Checksum | None) -> UploadView:
        """Stream a PATCH body into storage and advance the offset by what arrived (also when the connection
        drops); completes the upload when the last byte is in. Refusals are raised as problems."""
        receiver = _Receiver()
        key = f"{staging_prefix(lease.upload_id)}{lease.offset:012d}-{lease.token.hex[:12]}"
        hasher = checksum.factory() if checksum else None
        hashes = running_hashes(self.state)
        running = hashes.start(lease.upload_id, lease.offset)
        whole = running.digest if running is not None else None
        remaining = lease.length - lease.offset
        sniff_head = bytearray() if lease.offset == 0 else None

        async def source() -> AsyncIterator[bytes]:
            iterator = body.__aiter__()
            while True:
                try:
                    with anyio.fail_after(IDLE_TIMEOUT_SECONDS):
                        chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    return
                except (ClientDisconnect, TimeoutError):
                    receiver.disconnected = True
                    return
                if not chunk:
                    continue
                if receiver.received + len(chunk) > remaining:
                    receiver.too_long = True
                    raise _Abort
                if sniff_head is not None and len(sniff_head) < images.SNIFF_BYTES:
                    sniff_head.extend(chunk[: images.SNIFF_BYTES - len(sniff_head)])
                    if not images.could_be_image(bytes(sniff_head)):
                        receiver.not_image = True
                        raise _Abort
                if hasher is not None:
                    hasher.update(chunk)
                if whole is not None:
                    whole.update(chunk)
                receiver.received += len(chunk)
                if time.monotonic() - lease.renewed > LEASE_SECONDS / 3 and not await self._renew(lease):
                    receiver.lease_lost = True
                    raise _Abort
                yield chunk

        try:
            written = await self.storage.put_stream(key, source())
        except _Abort:
            if receiver.not_image:
                await self._fail(lease, "unsupported-image-type")
                raise Problem(415, "unsupported-image-type", "uploads.unsupported-type") from None
            if receiver.lease_lost:
                raise upload_busy() from None
            await self.release(lease)
            raise Problem(413, "payload-too-large", "uploads.beyond-length", params={"length": lease.length}) from None
        except StorageError as exc:
            await self.release(lease)
            log.error("upload_storage_failed", upload_id=str(lease.upload_id), error=type(exc).__name__)
            raise storage_unavailable() from exc
        except BaseException:
            await self.release(lease)
            raise

        if (
            checksum is not None
            and hasher is not None
            and (receiver.disconnected or hasher.digest() != checksum.digest)
        ):
            await self._discard(key)
            await self.release(lease)
            raise Problem(
                460,
                "checksum-mismatch",
                "uploads.checksum-mismatch",
                params={"algorithm": checksum.algorithm},
                headers={"Upload-Offset": str(lease.offset)},
            )
        if written == 0:
            await self._discard(key)
            await self.release(lease)
            return await self._view(lease.upload_id)

        view = await self._commit_segment(lease, key, written)
        if receiver.disconnected:
            log.info("upload_interrupted", upload_id=str(lease.upload_id), offset=view.offset)
        if running is not None:
            running.offset = view.offset
            if sniff_head is not None:
                running.head = bytes(sniff_head)
        if view.offset < view.length:
            if running is not None:
                hashes.keep(lease.upload_id, running)
            return view
        hashes.forget(lease.upload_id)
        await self.accept(lease, running.digest.hexdigest() if running is not None else None, running)
        spawn_processing(self.state, lease)
        return view

    async def _view(self, upload_id: uuid.UUID) -> UploadView:
        async with self._session(write=False) as session:
            upload = await session.get(Upload, upload_id)
            if upload is None:
                raise not_found()
            return UploadView.of(upload)

    async def _discard(self, key: str) -> None:
        try:
            await self.storage.delete(key)
        except Exception:
            log.warning("staged_segment_delete_failed", key=key, exc_info=True)

    async def _commit_segment(self, lease: Lease, key: str, written: int) -> UploadView:
        new_offset = lease.offset + written
        segments = [*lease.segments, {"key": key, "offset": lease.offset, "size": written}]
        done = new_offset == lease.length
        now = utcnow()
        values: dict[str, Any] = {
            "offset_bytes": new_offset,
            "segments": segments,
            "expires_at": self._expiry(),
            "version": Upload.version + 1,
        }
        if done:
            values |= {"status": UploadStatus.processing, "lease_until": now + timedelta(seconds=LEASE_SECONDS)}
        else:
            values |= {"lease_token": None, "lease_until": None}
        with anyio.CancelScope(shield=True):
            async with self._session(write=True) as session:
                result = await session.execute(
                    update(Upload)
                    .where(Upload.id == lease.upload_id, Upload.lease_token == lease.token)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                lost = result.rowcount != 1  # type: ignore[attr-defined]
        if lost:
            await self._discard(key)
            raise upload_busy()
        lease.offset = new_offset
        lease.segments = segments
        lease.renewed = time.monotonic()
        return UploadView(
            id=lease.upload_id,
            length=lease.length,
            offset=new_offset,
            status=UploadStatus.processing if done else UploadStatus.open,
            expires_at=values["expires_at"],
            metadata_header=None,
        )

    # --- acceptance (on the final PATCH) ----------------------------------------------------------------------

    async def accept(self, lease: Lease, sha256: str | None, running: _RunningHash | None) -> None:
        """Check a fully received upload before answering its last PATCH: the whole file's sha256 (``sha256``
        when this process hashed every byte, else read again from storage) and the type from its first
        bytes. Fails the upload and raises the problem on a mismatch; the picture itself is processed later
        (:func:`spawn_processing`)."""
        head = running.head if running is not None and len(running.head) >= images.SNIFF_BYTES else None
        try:
            if sha256 is None or head is None:
                actual, head = await self._staged_sha256(lease)
                sha256 = sha256 or actual
        except (_StagingBroken, ObjectMissing) as exc:
            raise await self._staging_lost(lease, exc) from exc
        except StorageError as exc:
            # Left ``processing`` under the lease: once it expires, the resumer checks it again.
            log.error("upload_accept_failed", upload_id=str(lease.upload_id), error=type(exc).__name__)
            raise storage_unavailable() from exc
        if sha256 != lease.sha256:
            await self._fail(lease, "upload-hash-mismatch")
            log.info("upload_refused", upload_id=str(lease.upload_id), reason="upload-hash-mismatch")
            raise Problem(460, "upload-hash-mismatch", "uploads.hash-mismatch")
        if images.sniff(head) is None:
            await self._fail(lease, "unsupported-image-type")
            log.info("upload_refused", upload_id=str(lease.upload_id), reason="unsupported-image-type")
            raise Problem(415, "unsupported-image-type", "uploads.unsupported-type")

    async def _staged_sha256(self, lease: Lease) -> tuple[str, bytes]:
        """The staged bytes' sha256 and first bytes, read back from storage."""
        keys = _ordered_keys(lease)
        if isinstance(self.storage, LocalStorage):
            paths = [self.storage.local_path(key) for key in keys]

            def _hash() -> tuple[str, bytes]:
                digest, head = hashlib.sha256(), b""
                try:
                    for path in paths:
                        with open(path, "rb") as fh:
                            while chunk := fh.read(images.HASH_CHUNK):
                                if len(head) < images.SNIFF_BYTES:
                                    head += chunk[: images.SNIFF_BYTES - len(head)]
                                digest.update(chunk)
                except FileNotFoundError as exc:
                    raise ObjectMissing(str(exc.filename)) from exc
                except OSError as exc:
                    raise StorageError(type(exc).__name__) from exc
                return digest.hexdigest(), head

            return await anyio.to_thread.run_sync(_hash)
        digest, head = hashlib.sha256(), b""
        for key in keys:
            async for chunk in self.storage.get_range(key):
                if len(head) < images.SNIFF_BYTES:
                    head += chunk[: images.SNIFF_BYTES - len(head)]
                digest.update(chunk)
        return digest.hexdigest(), head

    # --- completion ----------------------------------------------------------------------------------------

    def _limiter(self) -> anyio.CapacityLimiter:
        return media_limiter(self.state)

    async def complete(self, lease: Lease, *, accepted: bool = False) -> None:
        """Verify, clean and store a fully received upload, and record its photo; one job at a time per
        process (the media limiter). Holds the lease (status ``processing``) throughout, renewing it; a
        crash leaves it for the resumer (:func:`resume_stuck_uploads`) once the lease expires.

        ``accepted``: :meth:`accept` already checked the whole-file hash (a resumed completion checks it)."""
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._keep_lease, lease)
            try:
                async with self._limiter():
                    await self._complete(lease, accepted=accepted)
            except Exception as exc:  # raised below, outside the task group (which would wrap it)
                error = exc
            finally:
                tg.cancel_scope.cancel()
        if error is not None:
            raise error

    async def _keep_lease(self, lease: Lease) -> None:
        """Renew the lease while a long completion runs, so that nobody takes the upload over meanwhile."""
        while True:
            await anyio.sleep(LEASE_SECONDS / 3)
            try:
                if not await self._renew(lease):
                    return
            except Exception:
                log.warning("upload_lease_renew_failed", upload_id=str(lease.upload_id), exc_info=True)

    async def _complete(self, lease: Lease, *, accepted: bool) -> None:
        started = time.perf_counter()
        marks: dict[str, float] = {}
        workdir = scratch_dir(self.state) / f"upload-{lease.upload_id.hex}-{lease.token.hex[:8]}"
        await anyio.to_thread.run_sync(lambda: workdir.mkdir(parents=True, exist_ok=True))
        try:
            try:
                source = await self._assemble(lease, workdir)
                marks["assemble"] = time.perf_counter()
                processed = await anyio.to_thread.run_sync(
                    _verify_and_process,
                    source,
                    workdir,
                    None if accepted else lease.sha256,
                    self.state.settings.image_decode_budget_mib * 1024 * 1024,
                    isinstance(self.storage, LocalStorage),
                )
                marks["process"] = time.perf_counter()
            except (_StagingBroken, ObjectMissing) as exc:
                raise await self._staging_lost(lease, exc) from exc
            except StorageError as exc:
                log.error("upload_assemble_failed", upload_id=str(lease.upload_id), error=type(exc).__name__)
                raise storage_unavailable() from exc
            except images.ImageRejected as rejected:
                await self._fail(lease, rejected.slug)
                log.info("upload_refused", upload_id=str(lease.upload_id), reason=rejected.slug)
                raise Problem(rejected.status, rejected.slug, rejected.detail, params=rejected.params) from rejected
            try:
                stored_key = content_key(processed.sha256)
                if not await self.storage.exists(stored_key):
                    await self.storage.adopt_file(stored_key, processed.path, content_type=processed.content_type)
                thumb_key = thumbnail_key(processed.thumbnail_sha256)
                if not await self.storage.exists(thumb_key):
                    await self.storage.adopt_file(thumb_key, processed.thumbnail_path, content_type="image/jpeg")
                marks["store"] = time.perf_counter()
            except StorageError as exc:
                log.error("photo_store_failed", upload_id=str(lease.upload_id), error=type(exc).__name__)
                raise storage_unavailable() from exc
            try:
                try:
                    await self._record_photo(lease, processed, stored_key, thumb_key)
                except IntegrityError:
                    # The same photo id completed concurrently through another upload: decide again.
                    await self._record_photo(lease, processed, stored_key, thumb_key)
            except Problem as problem:
                if problem.slug == "photo-exists":
                    await self._fail(lease, problem.slug)
                raise
            marks["record"] = time.perf_counter()
        finally:
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(workdir, ignore_errors=True))
        await self._purge_staging(lease.upload_id)
        previous, timings = started, {}
        for name, at in marks.items():
            timings[f"{name}_ms"] = round((at - previous) * 1000, 1)
            previous = at
        log.info(
            "upload_completed",
            upload_id=str(lease.upload_id),
            photo_id=str(lease.photo_id),
            size=lease.length,
            kind=processed.kind,
            total_ms=round((time.perf_counter() - started) * 1000, 1),
            **timings,
        )

    async def _assemble(self, lease: Lease, workdir: Path) -> Path:
        """The received bytes as one local file (the staged file itself when there is exactly one)."""
        keys = _ordered_keys(lease)
        target = workdir / "original"
        if isinstance(self.storage, LocalStorage):
            if len(keys) == 1:
                return self.storage.local_path(keys[0])
            await self.storage.concatenate(keys, target)
            return target
        fh = await anyio.to_thread.run_sync(open, target, "wb")
        try:
            for key in keys:
                await self.storage.copy_to_file(key, fh)
        finally:
            await anyio.to_thread.run_sync(fh.close)
        return target

    async def _record_photo(self, lease: Lease, processed: images.Processed, stored_key: str, thumb_key: str) -> None:
        meta = lease.meta
        async with self._session(write=True) as session:
            result = await session.execute(
                update(Upload)
                .where(Upload.id == lease.upload_id, Upload.lease_token == lease.token)
                .values(
                    status=UploadStatus.completed,
                    completed_at=utcnow(),
                    lease_token=None,
                    lease_until=None,
                    version=Upload.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise upload_busy()
            visit = await session.get(Visit, lease.visit_id)
            if visit is None:
                raise not_found()
            existing = await session.get(Photo, lease.photo_id)
            if existing is not None:
                if not _same_photo(existing, visit.id, lease.sha256):
                    raise Problem(409, "photo-exists", "uploads.photo-exists")
                log.info("photo_already_uploaded", photo_id=str(existing.id), upload_id=str(lease.upload_id))
                return
            taken_at = meta.get("taken_at")
            photo = Photo(
                id=lease.photo_id,
                visit_id=visit.id,
                household_id=visit.household_id,
                item_key=meta.get("item_key"),
                caption=meta.get("caption"),
                taken_at=datetime.fromisoformat(str(taken_at)) if taken_at else None,
                sha256=processed.sha256,
                original_sha256=lease.sha256,
                size=processed.size,
                width=processed.width,
                height=processed.height,
                content_type=processed.content_type,
                storage_key=stored_key,
                thumbnail_key=thumb_key,
                thumbnail_sha256=processed.thumbnail_sha256,
                thumbnail_size=processed.thumbnail_size,
                uploaded_by_id=lease.principal.user_id,
                upload_id=lease.upload_id,
            )
            session.add(photo)
            await session.flush()
            await audit.record(
                session,
                lease.principal,
                "photo.upload",
                entity="photo",
                entity_id=photo.id,
                household_id=visit.household_id,
                details={"visit_id": str(visit.id), "upload_id": str(lease.upload_id), "size": processed.size},
            )
        log.info("photo_stored", photo_id=str(lease.photo_id), upload_id=str(lease.upload_id), size=processed.size)

    async def _staging_lost(self, lease: Lease, exc: Exception) -> Problem:
        """The staged bytes are not all there (lost storage): the upload fails, the client sends it again."""
        await self._fail(lease, "staging-lost")
        log.error("upload_staging_lost", upload_id=str(lease.upload_id), error=str(exc))
        return Problem(500, "upload-lost", "uploads.staging-lost")

    async def _fail(self, lease: Lease, reason: str) -> None:
        with anyio.CancelScope(shield=True):
            async with self._session(write=True) as session:
                await session.execute(
                    update(Upload)
                    .where(Upload.id == lease.upload_id, Upload.lease_token == lease.token)
                    .values(
                        status=UploadStatus.failed,
                        failure=reason,
                        lease_token=None,
                        lease_until=None,
                        version=Upload.version + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
        await self._purge_staging(lease.upload_id)

    async def _purge_staging(self, upload_id: uuid.UUID) -> None:
        """Remove an upload's staged bytes, then forget its segments (a failure leaves them for cleanup)."""
        try:
            with anyio.CancelScope(shield=True):
                await self.storage.delete_prefix(staging_prefix(upload_id))
                async with self._session(write=True) as session:
                    await session.execute(
                        update(Upload)
                        .where(Upload.id == upload_id, Upload.status != UploadStatus.open)
                        .values(segments=[], version=Upload.version + 1)
                        .execution_options(synchronize_session=False)
                    )
        except Exception:
            log.warning("upload_staging_purge_failed", upload_id=str(upload_id), exc_info=True)

    # --- termination ---------------------------------------------------------------------------------------

    async def terminate(self, token: str | None, address: str | None, upload_id: uuid.UUID) -> None:
        async with self._session(write=True) as session:
            principal = await self._principal(session, token, address)
            upload = await self._own_upload(session, principal, upload_id)
            if upload.status == UploadStatus.completed or upload.status in GONE:
                return
            now = utcnow()
            result = await session.execute(
                update(Upload)
                .where(
                    Upload.id == upload.id,
                    Upload.status == UploadStatus.open,
                    or_(Upload.lease_token.is_(None), Upload.lease_until <= now),
                )
                .values(status=UploadStatus.terminated, lease_token=None, lease_until=None, version=Upload.version + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise upload_busy()
        log.info("upload_terminated", upload_id=str(upload_id))
        await self._purge_staging(upload_id)


def _is_gone(upload: Upload) -> bool:
    if upload.status in GONE:
        return True
    return upload.status == UploadStatus.open and upload.expires_at <= utcnow()


def _same_photo(photo: Photo, visit_id: uuid.UUID, original_sha256: str) -> bool:
    """Whether an existing photo is this very upload again (same visit, same bytes, not deleted)."""
    return photo.deleted_at is None and photo.visit_id == visit_id and photo.original_sha256 == original_sha256


def _ordered_keys(lease: Lease) -> list[str]:
    """The staged segments' storage keys in offset order; raises when they do not add up to the upload."""
    segments = sorted(lease.segments, key=lambda s: int(s["offset"]))
    expected = 0
    for segment in segments:
        if int(segment["offset"]) != expected:
            raise _StagingBroken(f"gap at {expected}")
        expected += int(segment["size"])
    if expected != lease.length:
        raise _StagingBroken(f"{expected} of {lease.length} bytes staged")
    return [str(segment["key"]) for segment in segments]


def _verify_and_process(
    source: Path,
    workdir: Path,
    expected_sha256: str | None,
    decode_budget: int = images.DECODE_BUDGET,
    durable: bool = False,
) -> images.Processed:
    """In a worker thread: the whole-file hash (unless already checked), then the picture itself (its clean
    copy made ``durable`` on disk while it decodes, when local storage adopts that file)."""
    if expected_sha256 is not None and images.file_sha256(source) != expected_sha256:
        raise images.ImageRejected(460, "upload-hash-mismatch", "uploads.hash-mismatch")
    return images.process_image(source, workdir, decode_budget=decode_budget, durable=durable)


# --- cleanup (worker) ------------------------------------------------------------------------------------


async def cleanup_expired_uploads(state: AppState) -> int:
    """Expire incomplete uploads past ``expires_at`` and delete their staged bytes; delete bytes left behind
    by finished uploads; finish uploads whose completion was interrupted (a crash while ``processing``).

    Returns how many uploads were cleaned up (expired, purged or finished). Safe to run from several
    workers at once: every change is a compare-and-set."""
    service = UploadService(state)
    now = utcnow()
    count = 0
    async with open_session(state.sessionmaker, write=True) as session:
        expired = list(
            (
                await session.execute(
                    select(Upload.id).where(
                        Upload.status == UploadStatus.open,
                        Upload.expires_at <= now,
                        or_(Upload.lease_token.is_(None), Upload.lease_until <= now),
                    )
                )
            ).scalars()
        )
        if expired:
            await session.execute(
                update(Upload)
                .where(
                    Upload.id.in_(expired),
                    Upload.status == UploadStatus.open,
                    or_(Upload.lease_token.is_(None), Upload.lease_until <= now),
                )
                .values(status=UploadStatus.expired, lease_token=None, lease_until=None, version=Upload.version + 1)
                .execution_options(synchronize_session=False)
            )
    # Everything finished that may still have staged bytes (including the ones just expired).
    async with open_session(state.sessionmaker, write=False) as session:
        leftovers = [
            upload_id
            for upload_id, segments in await session.execute(
                select(Upload.id, Upload.segments).where(Upload.status.in_([*GONE, UploadStatus.completed]))
            )
            if segments
        ]
        stuck = list(
            (
                await session.execute(
                    select(Upload.id).where(Upload.status == UploadStatus.processing, Upload.lease_until <= now)
                )
            ).scalars()
        )
    for upload_id in leftovers:
        await service._purge_staging(upload_id)
        count += 1
    for upload_id in stuck:
        if await _resume_completion(service, upload_id):
            count += 1
    if count:
        log.info("uploads_cleaned", count=count)
    return count


async def _claim(state: AppState, upload_id: uuid.UUID) -> Lease | None:
    """Take over an upload left ``processing`` whose lease expired (compare-and-set: one taker wins)."""
    now = utcnow()
    token = uuid.uuid4()
    async with open_session(state.sessionmaker, write=True) as session:
        result = await session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.status == UploadStatus.processing, Upload.lease_until <= now)
            .values(lease_token=token, lease_until=now + timedelta(seconds=LEASE_SECONDS), version=Upload.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        row = (
            await session.execute(
                select(User, Organization)
                .join(Organization, Organization.id == User.organization_id)
                .where(User.id == upload.uploader_id)
            )
        ).first()
        assert row is not None
        principal = principal_for(row[0], row[1], session_id=None, device_id=None, address=None)
        return UploadService._lease_of(upload, principal, token)


async def _resume_completion(service: UploadService, upload_id: uuid.UUID) -> bool:
    lease = await _claim(service.state, upload_id)
    if lease is None:
        return False
    try:
        await service.complete(lease)
    except Problem as problem:
        log.info("upload_completion_resumed", upload_id=str(upload_id), result=problem.slug)
    except Exception:
        log.warning("upload_completion_resume_failed", upload_id=str(upload_id), exc_info=True)
        return False
    return True


# --- background processing (API process) -----------------------------------------------------------------
#
# The final PATCH answers once the bytes are durable and checked; the picture is processed right after in
# a task of the same process. Tasks are kept in ``state.extras["media_tasks"]`` (upload id → task: strong
# references, one per upload) and finished or cancelled at shutdown. Nothing another process needs lives
# there: the upload's status and lease in the database say who processes it.


def _tasks(state: AppState) -> dict[uuid.UUID, asyncio.Task[None]]:
    tasks = state.extras.get("media_tasks")
    if tasks is None:
        tasks = state.extras["media_tasks"] = {}
    hooks = state.extras.setdefault("shutdown", [])
    if stop_background_work not in hooks:
        hooks.insert(0, stop_background_work)  # before the storage closes
    return tasks  # type: ignore[no-any-return]


def spawn_processing(state: AppState, lease: Lease, *, accepted: bool = True) -> asyncio.Task[None]:
    """Process a fully received upload in the background (the caller holds its lease)."""
    tasks = _tasks(state)
    task = asyncio.get_running_loop().create_task(
        _process(state, lease, accepted=accepted), name=f"ongi-upload-{lease.upload_id}"
    )
    tasks[lease.upload_id] = task

    def _done(done: asyncio.Task[None]) -> None:
        if tasks.get(lease.upload_id) is done:
            del tasks[lease.upload_id]

    task.add_done_callback(_done)
    return task


async def _process(state: AppState, lease: Lease, *, accepted: bool) -> None:
    try:
        await UploadService(state).complete(lease, accepted=accepted)
    except Problem as problem:
        if problem.status >= 500:
            # Storage or staging trouble: the lease lapses and the resumer tries again.
            log.warning("upload_processing_deferred", upload_id=str(lease.upload_id), reason=problem.slug)
        else:
            log.info("upload_processing_refused", upload_id=str(lease.upload_id), reason=problem.slug)
    except Exception:
        log.exception("upload_processing_failed", upload_id=str(lease.upload_id))


async def wait_for_processing(state: AppState) -> None:
    """Wait until this process's background processing is done (tests; bound it with ``fail_after``)."""
    while tasks := list(state.extras.get("media_tasks", {}).values()):
        await asyncio.wait(tasks)


async def resume_stuck_uploads(state: AppState) -> int:
    """Start processing every upload left ``processing`` whose lease expired (its process died, or its
    processing stopped on a storage error); returns how many this process took over."""
    claimed, _ = await _resume_round(state)
    return claimed


async def _resume_round(state: AppState) -> tuple[int, float]:
    """One look for stuck uploads: how many were taken over, and when to look again (soon when a lease
    held by no task of ours runs out before :data:`RESUME_INTERVAL`, as after a restart)."""
    ours = set(state.extras.get("media_tasks", {}))
    now = utcnow()
    async with open_session(state.sessionmaker, write=False) as session:
        rows = (
            await session.execute(select(Upload.id, Upload.lease_until).where(Upload.status == UploadStatus.processing))
        ).all()
    claimed = 0
    next_look = RESUME_INTERVAL
    for upload_id, lease_until in rows:
        if upload_id in ours:
            continue
        if lease_until is not None and lease_until > now:
            next_look = min(next_look, (lease_until - now).total_seconds() + 0.5)
            continue
        lease = await _claim(state, upload_id)
        if lease is not None:
            log.info("upload_processing_resumed", upload_id=str(upload_id))
            spawn_processing(state, lease, accepted=False)
            claimed += 1
    return claimed, max(0.5, next_look)


async def _resumer(state: AppState) -> None:
    while True:
        try:
            _, delay = await _resume_round(state)
        except Exception:
            log.warning("upload_resume_round_failed", exc_info=True)
            delay = RESUME_INTERVAL
        await asyncio.sleep(delay)


async def start_background_work(state: AppState) -> None:
    """Startup hook of the API process: look for uploads a previous process left ``processing`` at once,
    then every :data:`RESUME_INTERVAL`, in a background task (startup does not wait for it)."""
    _tasks(state)
    current = state.extras.get("media_resumer")
    if current is None or current.done():
        state.extras["media_resumer"] = asyncio.get_running_loop().create_task(
            _resumer(state), name="ongi-upload-resumer"
        )


async def stop_background_work(state: AppState) -> None:
    """Shutdown hook: stop looking for stuck uploads, let processing under way finish for up to
    :data:`SHUTDOWN_GRACE` seconds, then cancel the rest (their leases lapse; the next process resumes
    them). Safe to call more than once."""
    resumer = state.extras.pop("media_resumer", None)
    if resumer is not None:
        resumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resumer
    tasks = list(state.extras.get("media_tasks", {}).values())
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    for task in pending:
        task.cancel()
    if pending:
        log.warning("upload_processing_cancelled", count=len(pending))
        await asyncio.gather(*pending, return_exceptions=True)


# --- photos ----------------------------------------------------------------------------------------------


async def get_photo_or_404(session: AsyncSession, principal: Principal, photo_id: uuid.UUID) -> tuple[Photo, Visit]:
    """A photo the caller may see: its visit is visible to them, and for a partner the household's consent
    covers them too (a photo of a home identifies the household)."""
    if principal.role not in PHOTO_ROLES:
        raise not_found()
    photo = await session.get(Photo, photo_id)
    if photo is None or photo.deleted_at is not None:
        raise not_found()
    visit = await get_visit_or_404(session, principal, photo.visit_id)
    await _require_household_visible(session, principal, visit)
    return photo, visit


async def _require_household_visible(session: AsyncSession, principal: Principal, visit: Visit) -> None:
    if principal.role == Role.partner and visit.household_id is not None:
        reach = await partner_reach(session, principal)
        if not reach.household_visible(visit.household_id):
            raise not_found()


def may_change(principal: Principal, photo: Photo) -> bool:
    return principal.user_id == photo.uploaded_by_id or principal.role == Role.coordinator


async def update_photo(session: AsyncSession, principal: Principal, photo: Photo, body: PhotoUpdate) -> Photo:
    if not may_change(principal, photo):
        raise Problem(403, "forbidden", "photos.change-forbidden")
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(photo, name, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        "photo.update",
        entity="photo",
        entity_id=photo.id,
        household_id=photo.household_id,
        details={"fields": sorted(changes)},
    )
    return photo


async def delete_photo(session: AsyncSession, principal: Principal, photo: Photo) -> None:
    """Soft delete: the record stays (a tombstone for sync, history kept), the file stays in storage."""
    if not may_change(principal, photo):
        raise Problem(403, "forbidden", "photos.change-forbidden")
    photo.deleted_at = utcnow()
    photo.deleted_by_id = principal.user_id
    await session.flush()
    await audit.record(
        session, principal, "photo.delete", entity="photo", entity_id=photo.id, household_id=photo.household_id
    )


async def visit_photos(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, *, limit: int, cursor: str | None
) -> VisitPhotos:
    if principal.role not in PHOTO_ROLES:
        raise not_found()
    visit = await get_visit_or_404(session, principal, visit_id)
    await _require_household_visible(session, principal, visit)
    live = (Photo.visit_id == visit.id, Photo.deleted_at.is_(None))
    rows, next_cursor = await keyset_page(
        session, select(Photo).where(*live), created_col=Photo.created_at, id_col=Photo.id, limit=limit, cursor=cursor
    )
    by_key: dict[str, list[uuid.UUID]] = {}
    for photo_id, item_key in await session.execute(
        select(Photo.id, Photo.item_key).where(*live, Photo.item_key.is_not(None)).order_by(Photo.created_at)
    ):
        by_key.setdefault(item_key, []).append(photo_id)
    uploads, key_states = await _upload_states(session, visit.id)
    expected: list[ExpectedPhotoStatus] = []
    for entry in visit.expected_photos or []:
        key = str(entry.get("key", ""))
        if not key:
            continue
        ids = by_key.get(key, [])
        failure = None
        if ids:
            status = "verified"
        elif key in key_states:
            status, failure = key_states[key]
        else:
            status = "missing"
        expected.append(
            ExpectedPhotoStatus(key=key, label=entry.get("label", key), status=status, failure=failure, photo_ids=ids)
        )
    await audit.record(
        session,
        principal,
        "photo.list",
        entity="visit",
        entity_id=visit.id,
        household_id=visit.household_id,
        details={"count": len(rows)},
    )
    return VisitPhotos(
        visit_id=visit.id,
        items=[PhotoPublic.of(p) for p in rows],
        next_cursor=next_cursor,
        expected=expected,
        complete=all(e.status == "verified" for e in expected),
        uploads=uploads,
    )


#: Uploads of a visit looked at for its photos' progress (newest first).
_UPLOAD_STATES_LIMIT = 100


async def _upload_states(
    session: AsyncSession, visit_id: uuid.UUID
) -> tuple[list[UploadState], dict[str, tuple[str, str | None]]]:
    """What became of the visit's uploads that have no photo: the latest upload of each photo id when it is
    being processed or was refused, and per item key whether an upload is under way (``uploading``: open
    and not expired, or processing) or the latest one was refused (``failed``, with the reason)."""
    now = utcnow()
    rows = (
        await session.execute(
            select(Upload.id, Upload.photo_id, Upload.meta, Upload.status, Upload.failure, Upload.updated_at)
            .where(
                Upload.visit_id == visit_id,
                or_(
                    Upload.status.in_([UploadStatus.processing, UploadStatus.failed]),
                    (Upload.status == UploadStatus.open) & (Upload.expires_at > now),
                ),
            )
            .order_by(Upload.updated_at.desc(), Upload.id)
            .limit(_UPLOAD_STATES_LIMIT)
        )
    ).all()
    photo_ids = {row.photo_id for row in rows}
    with_photo = (
        set((await session.execute(select(Photo.id).where(Photo.id.in_(photo_ids)))).scalars()) if photo_ids else set()
    )
    uploads: list[UploadState] = []
    key_states: dict[str, tuple[str, str | None]] = {}
    seen: set[uuid.UUID] = set()
    for row in rows:
        if row.photo_id in seen or row.photo_id in with_photo:
            continue
        seen.add(row.photo_id)
        item_key = (row.meta or {}).get("item_key")
        state = "failed" if row.status == UploadStatus.failed else "uploading"
        if item_key:
            current = key_states.get(str(item_key))
            # The newest upload of a key decides, but one under way outweighs an older refusal.
            if current is None or (state == "uploading" and current[0] == "failed"):
                key_states[str(item_key)] = (state, row.failure if state == "failed" else None)
        if row.status in (UploadStatus.processing, UploadStatus.failed):
            uploads.append(
                UploadState(
                    upload_id=row.id,
                    photo_id=row.photo_id,
                    item_key=item_key,
                    status="failed" if row.status == UploadStatus.failed else "processing",
                    failure=row.failure,
                    updated_at=row.updated_at,
                )
            )
    return uploads, key_states


def checksum_factories() -> dict[str, Callable[[], Any]]:
    return {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
