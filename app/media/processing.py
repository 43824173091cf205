"""Processing a fully received upload: verify, strip, thumbnail, store, record (``docs/uploads.md``).

The final PATCH answers 204 as soon as the bytes are durable and checked (:mod:`app.media.uploads`); the
picture is processed right after, in the background of the same process (a tracked task,
:func:`spawn_processing`), holding the upload's lease and bounded by the media limiter: the picture is
stripped, verified by decoding and thumbnailed in a worker thread (:mod:`app.media.images`), the results
are stored content-addressed (:func:`~app.media.photos.content_key`) and the photo record is written (with
its audit event and sync change) in one transaction. A refused picture marks the upload ``failed`` with its
reason, which the phone reads from ``HEAD`` and ``GET /v1/visits/{id}/photos``.

An upload left ``processing`` by a process that died is finished once its lease expires, by the API
process's resumer (:func:`start_background_work`) or by the worker's ``uploads-cleanup`` job
(:mod:`app.media.cleanup`); the lease's compare-and-set lets exactly one of them do it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path

import anyio
import anyio.to_thread
import structlog
from sqlalchemy.exc import IntegrityError

from app.auth.service import principal_for
from app.core.db import utcnow
from app.core.errors import NotFound, Problem
from app.core.state import AppState, Slot
from app.core.uow import open_session
from app.journal import audit
from app.media import images
from app.media.models import Photo
from app.media.photos import content_key, thumbnail_key
from app.media.repository import PhotoRepository, UploadRepository
from app.media.staging import (
    LEASE_SECONDS,
    Lease,
    Stage,
    StagingBroken,
    lease_until,
    ordered_keys,
    photo_exists,
    same_photo,
    storage_unavailable,
    upload_busy,
)
from app.media.storage import ObjectMissing, StorageError, get_storage, scratch_dir
from app.media.storage.local import LocalStorage
from app.visits.models import Visit

log = structlog.get_logger("ongi.media")

#: Image processing jobs at once per process. A picture stored turned is decoded and turned, which holds
#: it twice in memory (2 × 3 bytes a pixel), so one at a time; an upright one costs almost nothing.
IMAGE_JOBS = 1
#: How often the API process looks for uploads left ``processing`` by a process that died (seconds).
RESUME_INTERVAL = 60.0
#: How long shutdown lets background processing finish before cancelling it (seconds).
SHUTDOWN_GRACE = 10.0


#: This process's limit on uploads processed at once (:func:`media_limiter`).
IMAGE_LIMITER: Slot[anyio.CapacityLimiter] = Slot("media_image_limiter")
#: This process's background processing: upload id → task (:func:`spawn_processing`).
MEDIA_TASKS: Slot[dict[uuid.UUID, asyncio.Task[None]]] = Slot("media_tasks")
#: The task that looks for stuck uploads (:func:`start_background_work`).
MEDIA_RESUMER: Slot[asyncio.Task[None]] = Slot("media_resumer")


def media_limiter(state: AppState) -> anyio.CapacityLimiter:
    """How many uploads this process processes at once (:data:`IMAGE_JOBS`)."""
    return state.get_or_create(IMAGE_LIMITER, lambda: anyio.CapacityLimiter(IMAGE_JOBS))


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


class Processor(Stage):
    """Finishes fully received uploads, one picture at a time per process."""

    async def complete(self, lease: Lease, *, accepted: bool = False) -> None:
        """Verify, clean and store a fully received upload, and record its photo; one job at a time per
        process (the media limiter). Holds the lease (status ``processing``) throughout, renewing it; a
        crash leaves it for the resumer (:func:`resume_stuck_uploads`) once the lease expires.

        ``accepted``: the final PATCH already checked the whole-file hash (a resumed completion checks it)."""
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._keep_lease, lease)
            try:
                async with media_limiter(self.state):
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
            except (StagingBroken, ObjectMissing) as exc:
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
        await self.purge_staging(lease.upload_id)
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
        keys = ordered_keys(lease)
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
            if not await UploadRepository(session).mark_completed(lease.upload_id, lease.token, utcnow()):
                raise upload_busy()
            visit = await session.get(Visit, lease.visit_id)
            if visit is None:
                raise NotFound()
            photos = PhotoRepository(session)
            existing = await photos.get(lease.photo_id)
            if existing is not None:
                if not same_photo(existing, visit.id, lease.sha256):
                    raise photo_exists()
                log.info("photo_already_uploaded", photo_id=str(existing.id), upload_id=str(lease.upload_id))
                return
            taken_at = meta.get("taken_at")
            photo = photos.add(
                Photo(
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
            )
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


# --- taking over an upload left processing -------------------------------------------------------------------


async def _claim(state: AppState, upload_id: uuid.UUID) -> Lease | None:
    """Take over an upload left ``processing`` whose lease expired (compare-and-set: one taker wins)."""
    token = uuid.uuid4()
    async with open_session(state.sessionmaker, write=True) as session:
        uploads = UploadRepository(session)
        if not await uploads.claim_stuck(upload_id, token, utcnow(), lease_until()):
            return None
        upload = await uploads.get(upload_id)
        assert upload is not None
        row = await uploads.uploader(upload)
        assert row is not None
        principal = principal_for(row[0], row[1], session_id=None, device_id=None, address=None)
        return Lease.of(upload, principal, token)


async def resume_completion(state: AppState, upload_id: uuid.UUID) -> bool:
    """Finish an upload left ``processing`` here and now (the worker's cleanup); False when another took it."""
    lease = await _claim(state, upload_id)
    if lease is None:
        return False
    try:
        await Processor(state).complete(lease)
    except Problem as problem:
        log.info("upload_completion_resumed", upload_id=str(upload_id), result=problem.slug)
    except Exception:
        log.warning("upload_completion_resume_failed", upload_id=str(upload_id), exc_info=True)
        return False
    return True


# --- background processing (API process) -----------------------------------------------------------------
#
# Tasks are kept in the :data:`MEDIA_TASKS` slot (upload id → task: strong references, one per upload) and
# finished or cancelled at shutdown. Nothing another process needs lives there: the upload's status and lease
# in the database say who processes it.


def _tasks(state: AppState) -> dict[uuid.UUID, asyncio.Task[None]]:
    get_storage(state)  # opened before the tasks that use it: stop hooks run in reverse, so it closes after them
    state.on_stop(stop_background_work)
    return state.get_or_create(MEDIA_TASKS, dict)


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
        await Processor(state).complete(lease, accepted=accepted)
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
    while tasks := list((state.get(MEDIA_TASKS) or {}).values()):
        await asyncio.wait(tasks)


async def resume_stuck_uploads(state: AppState) -> int:
    """Start processing every upload left ``processing`` whose lease expired (its process died, or its
    processing stopped on a storage error); returns how many this process took over."""
    claimed, _ = await _resume_round(state)
    return claimed


async def _resume_round(state: AppState) -> tuple[int, float]:
    """One look for stuck uploads: how many were taken over, and when to look again (soon when a lease
    held by no task of ours runs out before :data:`RESUME_INTERVAL`, as after a restart)."""
    ours = set(state.get(MEDIA_TASKS) or ())
    now = utcnow()
    async with open_session(state.sessionmaker, write=False) as session:
        rows = await UploadRepository(session).processing()
    claimed = 0
    next_look = RESUME_INTERVAL
    for upload_id, until in rows:
        if upload_id in ours:
            continue
        if until is not None and until > now:
            next_look = min(next_look, (until - now).total_seconds() + 0.5)
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
    current = state.get(MEDIA_RESUMER)
    if current is None or current.done():
        state.set(MEDIA_RESUMER, asyncio.get_running_loop().create_task(_resumer(state), name="ongi-upload-resumer"))


async def stop_background_work(state: AppState) -> None:
    """Shutdown hook: stop looking for stuck uploads, let processing under way finish for up to
    :data:`SHUTDOWN_GRACE` seconds, then cancel the rest (their leases lapse; the next process resumes
    them). Safe to call more than once."""
    resumer = state.pop(MEDIA_RESUMER)
    if resumer is not None:
        resumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resumer
    tasks = list((state.get(MEDIA_TASKS) or {}).values())
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    for task in pending:
        task.cancel()
    if pending:
        log.warning("upload_processing_cancelled", count=len(pending))
        await asyncio.gather(*pending, return_exceptions=True)
