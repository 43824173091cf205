"""Creating and receiving uploads: the rules behind the tus endpoints (:mod:`app.media.tus`,
``docs/uploads.md``).

1. **acquire** (one transaction): authenticate, check that the caller is the uploader and still on the
   visit's team (:mod:`app.access.uploads`), that the offset matches, and take the upload's *lease* with a
   compare-and-set. A second PATCH meanwhile finds the lease and gets 409; a lease whose request crashed
   expires after :data:`~app.media.staging.LEASE_SECONDS`, so nothing blocks a resume for long.
2. **receive** (no transaction): the body streams into a new storage object (one per PATCH, named by its
   offset and lease), hashed on the way for ``Upload-Checksum`` and, while this process has seen every byte
   so far, for the whole file's sha256 (:class:`RunningHashes`). A dropped connection or a stalled one
   (:data:`IDLE_TIMEOUT_SECONDS`) keeps what arrived.
3. **commit** (one transaction, compare-and-set on the lease): the offset grows by what was written (in
   local files: in place, so a crash of the process keeps it; flushed to disk in the background right
   after, and by the last segment's PATCH before its answer: every staged segment is fsynced before the
   last one is recorded; on S3: stored), the segment is recorded, the lease is released. Only now does
   ``HEAD`` report the new offset. The last segment instead moves the upload to ``processing`` and keeps
   the lease.
4. **accept** (the final PATCH): the whole-file sha256 is checked against ``Upload-Metadata`` (from the
   running hash, or by reading the staged bytes again when another process received some of them) and the
   type is sniffed from the first bytes; a mismatch fails the upload and answers the problem. Otherwise the
   PATCH answers 204 at once, and the picture is processed in the background (:mod:`app.media.processing`).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import anyio.to_thread
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from app.access import uploads as access
from app.auth.service import resolve_principal
from app.core.db import utcnow
from app.core.errors import NotFound, Problem
from app.core.principal import Principal
from app.core.state import AppState, Slot
from app.media import images
from app.media.models import GONE, Upload, UploadStatus
from app.media.processing import spawn_processing
from app.media.repository import PhotoRepository, UploadRepository
from app.media.schemas import UploadMetadata
from app.media.staging import (
    FAILURE_HEADER,
    LEASE_SECONDS,
    STATUS_HEADER,
    Lease,
    Stage,
    StagingBroken,
    UploadView,
    is_gone,
    lease_until,
    ordered_keys,
    photo_exists,
    same_photo,
    staging_prefix,
    storage_unavailable,
    upload_busy,
    upload_gone,
)
from app.media.storage import ObjectMissing, StorageError
from app.media.storage.local import LocalStorage

log = structlog.get_logger("ongi.media")

#: A PATCH whose body stops arriving for this long ends as if the connection had dropped.
IDLE_TIMEOUT_SECONDS = 30
#: Uploads whose whole-file sha256 this process keeps computing as their bytes arrive (least recently
#: used beyond that are forgotten; their completion then reads the staged bytes again).
RUNNING_HASHES = 64


def unauthenticated() -> Problem:
    return Problem(401, "unauthorized", "detail.missing-token")


def checksum_factories() -> dict[str, Callable[[], Any]]:
    return {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


@dataclass(frozen=True)
class Checksum:
    """A parsed ``Upload-Checksum``: algorithm name, its hashlib constructor and the expected digest."""

    algorithm: str
    factory: Callable[[], Any]
    digest: bytes


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


#: This process's running hashes of uploads under way (:func:`running_hashes`).
RUNNING_HASHES: Slot[RunningHashes] = Slot("media_running_hashes")


def running_hashes(state: AppState) -> RunningHashes:
    return state.get_or_create(RUNNING_HASHES, RunningHashes)


class _Abort(Exception):
    """Stop reading the body (the reason is in the receiver's flags)."""


@dataclass
class _Receiver:
    disconnected: bool = False
    too_long: bool = False
    not_image: bool = False
    lease_lost: bool = False
    received: int = 0


class UploadService(Stage):
    """The tus operations: create, HEAD, PATCH (acquire, append), DELETE."""

    async def _principal(self, session: AsyncSession, token: str | None, address: str | None) -> Principal:
        if not token:
            raise unauthenticated()
        principal = await resolve_principal(self.state, session, token, address)
        structlog.contextvars.bind_contextvars(actor=str(principal.user_id), role=principal.role.value)
        return principal

    async def _own_upload(self, session: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> Upload:
        upload = await UploadRepository(session).get(upload_id)
        if upload is None or not access.owns_upload(principal, upload):
            raise NotFound()
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
            # the visit's notes and checklists (docs/access.md).
            visit = await access.visit_to_upload_to(session, principal, meta.visit_id)
            existing = await PhotoRepository(session).get(meta.photo_id)
            if existing is not None and not same_photo(existing, visit.id, meta.sha256):
                raise photo_exists()
            token_value = uuid.uuid4() if lease else None
            upload = UploadRepository(session).add(
                Upload(
                    uploader_id=principal.user_id,
                    visit_id=visit.id,
                    photo_id=meta.photo_id,
                    length=length,
                    metadata_header=metadata_header,
                    meta=meta.stored(),
                    sha256=meta.sha256,
                    expires_at=self._expiry(),
                    lease_token=token_value,
                    lease_until=lease_until() if lease else None,
                )
            )
            await session.flush()
            view = UploadView.of(upload)
            held = Lease.of(upload, principal, token_value) if token_value else None
        log.info("upload_created", upload_id=str(upload.id), visit_id=str(visit.id), length=length)
        return view, held

    # --- HEAD ----------------------------------------------------------------------------------------------

    async def status(self, token: str | None, address: str | None, upload_id: uuid.UUID) -> UploadView:
        async with self._session(write=False) as session:
            principal = await self._principal(session, token, address)
            upload = await self._own_upload(session, principal, upload_id)
            if is_gone(upload):
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
            await access.require_upload_visit(session, principal, upload.visit_id)
            if is_gone(upload):
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
            taken = await UploadRepository(session).take_lease(
                upload.id, offset=offset, token=new_token, now=now, until=now + timedelta(seconds=LEASE_SECONDS)
            )
            if not taken:
                raise upload_busy()
            lease = Lease.of(upload, principal, new_token)
        return lease

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
                receiver.received += len(chunk)
                if time.monotonic() - lease.renewed > LEASE_SECONDS / 3 and not await self._renew(lease):
                    receiver.lease_lost = True
                    raise _Abort
                yield chunk

        try:
            digests = [digest for digest in (hasher, whole) if digest is not None]
            # Not flushed to disk before the answer: a segment before the last survives a crash of this process
            # as it is (its bytes are the kernel's) and is flushed in the background once recorded; the last
            # one flushes them all before its 204 (below).
            written = await self.storage.put_stream(key, source(), digests=digests, durable=False)
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

        if lease.offset + written == lease.length:
            await self._make_durable(lease, key)
        view = await self._commit_segment(lease, key, written)
        if view.offset < view.length:
            self.storage.sync_soon([key])
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

    async def _make_durable(self, lease: Lease, key: str) -> None:
        """Before the last segment is recorded: every staged byte on disk (the last 204 promises it)."""
        try:
            await self.storage.sync([*(str(segment["key"]) for segment in lease.segments), key])
        except ObjectMissing as exc:
            await self._discard(key)
            raise await self._staging_lost(lease, exc) from exc
        except StorageError as exc:
            await self._discard(key)
            await self.release(lease)
            log.error("upload_storage_failed", upload_id=str(lease.upload_id), error=type(exc).__name__)
            raise storage_unavailable() from exc

    async def _view(self, upload_id: uuid.UUID) -> UploadView:
        async with self._session(write=False) as session:
            upload = await UploadRepository(session).get(upload_id)
            if upload is None:
                raise NotFound()
            return UploadView.of(upload)

    async def _commit_segment(self, lease: Lease, key: str, written: int) -> UploadView:
        new_offset = lease.offset + written
        segments = [*lease.segments, {"key": key, "offset": lease.offset, "size": written}]
        done = new_offset == lease.length
        now = utcnow()
        values: dict[str, Any] = {"offset_bytes": new_offset, "segments": segments, "expires_at": self._expiry()}
        if done:
            values |= {"status": UploadStatus.processing, "lease_until": now + timedelta(seconds=LEASE_SECONDS)}
        else:
            values |= {"lease_token": None, "lease_until": None}
        with anyio.CancelScope(shield=True):
            async with self._session(write=True) as session:
                lost = not await UploadRepository(session).commit_segment(lease.upload_id, lease.token, values)
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
        (:func:`~app.media.processing.spawn_processing`)."""
        head = running.head if running is not None and len(running.head) >= images.SNIFF_BYTES else None
        try:
            if sha256 is None or head is None:
                actual, head = await self._staged_sha256(lease)
                sha256 = sha256 or actual
        except (StagingBroken, ObjectMissing) as exc:
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
        keys = ordered_keys(lease)
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

    # --- termination ---------------------------------------------------------------------------------------

    async def terminate(self, token: str | None, address: str | None, upload_id: uuid.UUID) -> None:
        async with self._session(write=True) as session:
            principal = await self._principal(session, token, address)
            upload = await self._own_upload(session, principal, upload_id)
            if upload.status == UploadStatus.completed or upload.status in GONE:
                return
            if not await UploadRepository(session).terminate(upload.id, utcnow()):
                raise upload_busy()
        log.info("upload_terminated", upload_id=str(upload_id))
        await self.purge_staging(upload_id)
