"""Spreadsheets imported over REST (docs/integrations.md §2): the job of ``POST /v1/integrations/imports`` (the
upload that creates it: :mod:`app.integrations.uploads`).

Who imports
    The API process that received the file, at once, in a background task of its own (no worker needed).
    Every batch commits in one transaction: the rows' writes, their results
    (:class:`~app.integrations.models.ImportRow`) and the job's counters, under a compare-and-set on the job's
    lease that also renews it. When that process dies (or its database went away for longer than the lease),
    the lease lapses and the next resumer to look takes the job over with a compare-and-set (one taker wins):
    the API processes look every :data:`RESUME_INTERVAL` seconds (:func:`start_background_work`), and so does
    the worker's ``imports`` job. The taker skips the rows up to ``last_line``; rows done twice are impossible
    (the lease check), and even a row replayed would answer ``unchanged`` (imports are idempotent). A job that
    failed :data:`MAX_ATTEMPTS` times, or whose file cannot be read, is ``failed``. The stored file is deleted
    once the job is done or failed; the results stay.

The rows go through the very path of the command line and of ``POST …/households:bulk``:
:mod:`app.integrations.spreadsheet` reads them, :class:`app.integrations.bulk.BulkImporter` imports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import may_import, may_see_import
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.inserts import insert_rows
from app.core.principal import Principal
from app.core.state import AppState, Slot
from app.core.uow import open_session
from app.integrations import repository
from app.integrations.bulk import BulkImporter, CreatedKeys
from app.integrations.models import ImportJob, ImportRow
from app.integrations.schemas import LineResult
from app.integrations.spreadsheet import Unreadable, header_map, lines_from, read_rows
from app.journal import audit

log = structlog.get_logger("ongi.integrations")

#: Seconds a job's lease lasts; every committed batch renews it.
LEASE_SECONDS = 60
#: Seconds between two looks for jobs whose lease lapsed (API processes and the worker).
RESUME_INTERVAL = 15.0
#: Times a job is started before it counts as failed.
MAX_ATTEMPTS = 3
#: Seconds an API process lets imports under way finish at shutdown (the rest resume elsewhere).
SHUTDOWN_GRACE = 10.0

#: This process's imports under way: job id → task (:func:`spawn`).
IMPORT_TASKS: Slot[dict[uuid.UUID, asyncio.Task[None]]] = Slot("import_tasks")
#: The task that resumes lapsed jobs (:func:`start_background_work`).
IMPORT_RESUMER: Slot[asyncio.Task[None]] = Slot("import_resumer")
APPLIED = ("created", "updated", "matched", "reopened")


class LeaseLost(Exception):
    """Another process took the job over (our lease lapsed): stop without writing."""


# --- running a job ---------------------------------------------------------------------------------------------


def _tasks(state: AppState) -> dict[uuid.UUID, asyncio.Task[None]]:
    from app.media.storage import get_storage

    get_storage(state)  # opened before the imports that read it: stop hooks run in reverse, so it closes after them
    state.on_stop(stop_background_work)
    return state.get_or_create(IMPORT_TASKS, dict)


def spawn(state: AppState, job_id: uuid.UUID, token: uuid.UUID) -> asyncio.Task[None]:
    """Import the job in a task of this process (the caller holds its lease)."""
    tasks = _tasks(state)
    task = asyncio.get_running_loop().create_task(run_job(state, job_id, token), name=f"ongi-import-{job_id}")
    tasks[job_id] = task

    def _done(done: asyncio.Task[None]) -> None:
        if tasks.get(job_id) is done:
            del tasks[job_id]

    task.add_done_callback(_done)
    return task


async def wait_for_imports(state: AppState) -> None:
    """Wait until this process's imports under way are done (tests, the benchmark; bound it with a timeout)."""
    while tasks := list((state.get(IMPORT_TASKS) or {}).values()):
        await asyncio.wait(tasks)


async def _principal(session: AsyncSession, job: ImportJob) -> Principal | None:
    from app.auth.service import principal_for

    row = await repository.submitter(session, job.submitted_by_id)
    if row is None or not (row[0].active and row[1].active):
        return None
    principal = principal_for(row[0], row[1], session_id=None, device_id=None, address=None)
    return principal if may_import(principal) else None


class _Recorder:
    """Writes a batch's results and the job's counters in the batch's transaction, if the lease still holds."""

    def __init__(self, job: ImportJob, token: uuid.UUID, principal: Principal | None = None) -> None:
        self.job_id, self.token, self.principal = job.id, token, principal
        self.rows, self.last_line = job.rows, job.last_line
        self.counts: dict[str, int] = {k: int(v) for k, v in (job.counts or {}).items()}

    def totals(self) -> dict[str, Any]:
        c = self.counts
        return {
            "rows": self.rows,
            "applied": sum(c.get(k, 0) for k in APPLIED),
            "unchanged": c.get("unchanged", 0),
            "rejected": c.get("rejected", 0),
            "counts": dict(c),
            "last_line": self.last_line,
        }

    async def _duplicates(
        self, session: AsyncSession, results: list[LineResult], keys: CreatedKeys
    ) -> dict[int, list[dict[str, Any]]]:
        """Possible duplicates of the households the batch created (app.households.duplicates: a few queries for
        the whole batch, once it is written), by line. ``keys``: their search keys, as the batch cut them (a
        batch done line by line has none: they are read back)."""
        from app.households.duplicates import find_duplicates_many
        from app.households.search import KEYED_FIELDS, household_keys

        created = {r.household_id: r.line for r in results if r.status == "created" and r.household_id}
        if not created or self.principal is None:
            return {}
        missing = [hid for hid in created if hid not in keys]
        if missing:
            rows = await repository.keyed_fields(session, missing, KEYED_FIELDS)
            keys = {**keys, **{row[0]: household_keys(dict(zip(KEYED_FIELDS, row[1:], strict=True))) for row in rows}}
        ids = [hid for hid in created if hid in keys]
        found = await find_duplicates_many(session, self.principal, [(keys[hid], [hid]) for hid in ids], limit=5)
        return {
            created[hid]: [{"household_id": str(c.household_id), "reasons": list(c.reasons)} for c in candidates]
            for hid, candidates in zip(ids, found, strict=True)
            if candidates
        }

    async def __call__(self, session: AsyncSession, results: list[LineResult], keys: CreatedKeys | None = None) -> None:
        if not results:
            return
        rows, counts, last = self.rows, dict(self.counts), self.last_line
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
            last = max(last, r.line)
        rows += len(results)
        c = counts
        held = await repository.lease_job(
            session,
            self.job_id,
            self.token,
            rows=rows,
            applied=sum(c.get(k, 0) for k in APPLIED),
            unchanged=c.get("unchanged", 0),
            rejected=c.get("rejected", 0),
            counts=c,
            last_line=last,
            lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS),
            updated_at=utcnow(),
        )
        if not held:
            raise LeaseLost
        duplicates = await self._duplicates(session, results, keys or {})
        await insert_rows(
            session,
            ImportRow.__table__,
            [
                {
                    "job_id": self.job_id,
                    "line": r.line,
                    "external_id": r.external_id,
                    "status": r.status,
                    "household_id": r.household_id,
                    "errors": [e.model_dump() for e in r.errors] if r.errors else None,
                    "duplicates": duplicates.get(r.line),
                }
                for r in results
            ],
        )
        self.rows, self.counts, self.last_line = rows, counts, last


async def _finish(
    state: AppState, job_id: uuid.UUID, token: uuid.UUID, status: str, *, error: str | None = None
) -> bool:
    now = utcnow()
    async with open_session(state.sessionmaker, write=True) as session:
        return await repository.lease_job(
            session,
            job_id,
            token,
            status=status,
            error=error,
            finished_at=now,
            lease_token=None,
            lease_until=None,
            updated_at=now,
        )


@contextlib.asynccontextmanager
async def _local_copy(state: AppState, key: str, fmt: str) -> AsyncIterator[Path]:
    """The stored file as a local path: the file itself with local storage, else a scratch copy."""
    from app.media.storage import get_storage, scratch_dir
    from app.media.storage.local import LocalStorage

    storage = get_storage(state)
    if isinstance(storage, LocalStorage):
        yield storage.local_path(key)
        return
    folder = scratch_dir(state)
    await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
    fd, name = tempfile.mkstemp(suffix=f".{fmt}", dir=folder)
    path = Path(name)
    try:
        with open(fd, "wb") as fh:  # noqa: ASYNC230 - written by copy_to_file in a worker thread
            await storage.copy_to_file(key, fh)
        yield path
    finally:
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))


async def run_job(state: AppState, job_id: uuid.UUID, token: uuid.UUID) -> None:
    """Import the job's rows after ``last_line`` (we hold its lease), then mark it done."""
    from app.media.storage import StorageError

    async with open_session(state.sessionmaker, write=True) as session:
        job = await session.get(ImportJob, job_id)
        if job is None or job.lease_token != token:
            return
        principal = await _principal(session, job)
        job.status = "running"
        job.started_at = job.started_at or utcnow()
        job.attempts = (job.attempts or 0) + 1
        attempts = job.attempts
    recorder = _Recorder(job, token, principal)
    if principal is None:
        await _finish(state, job_id, token, "failed", error="forbidden")
        return
    if attempts > MAX_ATTEMPTS:
        await _finish(state, job_id, token, "failed", error="too-many-attempts")
        await _forget_file(state, job.storage_key)
        return
    importer = BulkImporter(
        state, principal, default_source=job.default_source, via="upload", job_id=job_id, on_batch=recorder
    )
    # the importer counts this run only; the summary audit event names the job's totals
    try:
        async with _local_copy(state, job.storage_key or "", job.file_format) as path:
            header, rows, _ = await anyio.to_thread.run_sync(
                lambda: read_rows(
                    path,
                    job.sheet,
                    max_uncompressed=state.settings.import_xlsx_max_uncompressed_mib * 1024 * 1024,
                    fmt=job.file_format,
                )
            )
            with rows:
                fields = header_map(header)
                after = recorder.last_line
                remaining = ((n, v) for n, v in rows if n > after)
                async for _ in importer.run(lines_from(remaining, fields, state.settings.tz)):
                    pass
    except LeaseLost:
        log.info("import_job_taken_over", job_id=str(job_id))
        return
    except (Unreadable, StorageError) as exc:
        log.warning("import_job_unreadable", job_id=str(job_id), reason=type(exc).__name__)
        if await _finish(state, job_id, token, "failed", error="unreadable-file"):
            await _forget_file(state, job.storage_key)
        return
    except asyncio.CancelledError:
        raise  # shutting down: the lease lapses and another process resumes the job
    except Exception:
        # The database or storage went away: the lease lapses and the job is resumed (MAX_ATTEMPTS times).
        log.exception("import_job_interrupted", job_id=str(job_id), rows=recorder.rows)
        return
    if await _finish(state, job_id, token, "done"):
        async with open_session(state.sessionmaker, write=True) as session:
            await audit.record(
                session,
                principal,
                "integrations.bulk",
                entity="integration_import_job",
                entity_id=job_id,
                details={"via": "upload", **recorder.totals()["counts"], "lines": recorder.rows},
            )
        await _forget_file(state, job.storage_key)
    log.info("import_job_done", job_id=str(job_id), rows=recorder.rows)


async def _forget_file(state: AppState, key: str | None) -> None:
    from app.media.storage import get_storage

    if key:
        try:
            await get_storage(state).delete(key)
        except Exception:
            log.warning("import_file_delete_failed", exc_info=True)


# --- resuming jobs whose process died --------------------------------------------------------------------------


async def _claim(state: AppState, job_id: uuid.UUID) -> uuid.UUID | None:
    now = utcnow()
    token = uuid.uuid4()
    async with open_session(state.sessionmaker, write=True) as session:
        claimed = await repository.claim_job(
            session, job_id, now, lease_token=token, lease_until=now + timedelta(seconds=LEASE_SECONDS), updated_at=now
        )
        return token if claimed else None


async def resume_round(state: AppState, *, wait: bool = False) -> int:
    """Take over every job whose lease lapsed and import it (in background tasks; ``wait``: before returning,
    as the worker does). Returns how many were taken over."""
    ours = set(state.get(IMPORT_TASKS) or ())
    now = utcnow()
    async with open_session(state.sessionmaker, write=False) as session:
        candidates = [job_id for job_id in await repository.lapsed_jobs(session, now) if job_id not in ours]
    started = []
    for job_id in candidates:
        token = await _claim(state, job_id)
        if token is not None:
            log.info("import_job_resumed", job_id=str(job_id))
            started.append(spawn(state, job_id, token))
    if wait and started:
        await asyncio.gather(*started)
    return len(started)


async def _resumer(state: AppState) -> None:
    while True:
        try:
            await resume_round(state)
        except Exception:
            log.warning("import_resume_round_failed", exc_info=True)
        await asyncio.sleep(RESUME_INTERVAL)


async def start_background_work(state: AppState) -> None:
    """Startup hook of the API process: resume jobs a previous process left, now and every
    :data:`RESUME_INTERVAL` seconds (in a background task: startup does not wait)."""
    _tasks(state)
    current = state.get(IMPORT_RESUMER)
    if current is None or current.done():
        state.set(IMPORT_RESUMER, asyncio.get_running_loop().create_task(_resumer(state), name="ongi-import-resumer"))


async def stop_background_work(state: AppState) -> None:
    """Shutdown hook: stop resuming, let imports under way finish for up to :data:`SHUTDOWN_GRACE` seconds, then
    cancel them (their leases lapse and another process resumes them after their last committed batch)."""
    resumer = state.pop(IMPORT_RESUMER)
    if resumer is not None:
        resumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resumer
    tasks = list((state.get(IMPORT_TASKS) or {}).values())
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    for task in pending:
        task.cancel()
    if pending:
        log.warning("import_jobs_cancelled", count=len(pending))
        await asyncio.gather(*pending, return_exceptions=True)


# --- reading a job ---------------------------------------------------------------------------------------------


async def get_job(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> ImportJob:
    """The job if the caller may see it: their own, or (a coordinator) one of their organization's; else 404."""
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise NotFound()
    if not may_see_import(principal, submitted_by_id=job.submitted_by_id, organization_id=job.organization_id):
        raise NotFound()
    return job


async def result_pages(state: AppState, job_id: uuid.UUID, *, page: int = 2000) -> AsyncIterator[list[dict[str, Any]]]:
    """The job's row results in order, a page at a time, each page read in a short transaction of its own."""
    after = 0
    while True:
        async with open_session(state.sessionmaker, write=False) as session:
            rows = await repository.result_page(session, job_id, after, page)
        if not rows:
            return
        yield [
            {
                "line": r.line,
                "external_id": r.external_id,
                "status": r.status,
                "household_id": r.household_id,
                "reason": "; ".join(
                    f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
                    for e in r.errors or []
                ),
                "duplicates": ";".join(str(d.get("household_id")) for d in r.duplicates or []),
            }
            for r in rows
        ]
        after = rows[-1].line
        if len(rows) < page:
            return
