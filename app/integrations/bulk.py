"""Importing a stream of lines, a batch per transaction (docs/integrations.md §2): the one path of
``POST /v1/integrations/households:bulk`` (NDJSON), ``POST /v1/integrations/imports`` (spreadsheets, in the
background) and the command line.

Each batch is validated in a worker thread (:func:`app.integrations.lines.parse_batch`), then imported in **one
transaction of its own** (``open_session(state.sessionmaker)``) with a few statements for the whole batch
(:func:`app.integrations.batch.ingest_batch`: matching, signals, households, search keys, audit rows and change
notes); every finished batch is durable before its results are handed out, so a stream cut off and sent again
doubles nothing (finished batches answer ``unchanged``). When a batch meets a key imported concurrently (or the
database gives up on its transaction), it is done again line by line, each line in a savepoint
(:func:`app.integrations.service.apply_import`): a failing line is rolled back alone.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread
import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.core.errors import Problem
from app.core.i18n import t
from app.core.inserts import insert_rows
from app.core.principal import Principal
from app.core.state import AppState
from app.core.uow import open_session
from app.integrations import repository
from app.integrations.batch import ingest_batch
from app.integrations.lines import Parsed, RawLine, parse_batch, problem_errors
from app.integrations.models import ImportRecord
from app.integrations.schemas import LineError, LineResult
from app.integrations.service import apply_import
from app.journal import audit
from app.journal.changes import pending_mark, pending_restore

log = structlog.get_logger("ongi.integrations")

#: Lines per transaction, adapted while importing (unless fixed by the caller): a batch aims at
#: ``BATCH_SECONDS`` so that it holds SQLite's single write lock (PostgreSQL: its row locks) for a fraction of
#: a second — phones keep syncing during an import — while amortizing the commit over many lines.
BATCH_SIZE = 200
#: A batch costs a few statements whatever its size (app.integrations.batch): never fewer than MIN_BATCH lines,
#: or a loaded machine would shrink batches until their fixed cost is all the import does.
MIN_BATCH, MAX_BATCH = 100, 1000
BATCH_SECONDS = 0.25
#: The same on PostgreSQL, where a batch holds the row locks of its own lines only.
PG_MIN_BATCH, PG_MAX_BATCH = 500, 5000
PG_BATCH_SECONDS = 1.0

#: What a batch hands its ``on_batch`` callback besides its results: the search keys of the households it
#: created, by id (none when the batch was done line by line).
CreatedKeys = dict[uuid.UUID, set[tuple[str, str]]]


def _retryable(exc: DBAPIError) -> bool:
    """A transaction the database aborted and that may succeed when tried again."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)
    return isinstance(exc, OperationalError) or code in ("40001", "40P01")


class BulkImporter:
    """Imports a stream of lines for one principal, a batch per transaction, and counts the outcomes."""

    def __init__(
        self,
        state: AppState,
        principal: Principal,
        *,
        batch_size: int | None = None,
        default_source: str | None = None,
        via: str = "api",
        job_id: uuid.UUID | None = None,
        on_batch: Callable[[AsyncSession, list[LineResult], CreatedKeys], Awaitable[None]] | None = None,
    ) -> None:
        self.state, self.principal = state, principal
        self.adaptive = batch_size is None
        self.batch_size = batch_size or BATCH_SIZE
        self.min_batch, self.max_batch, self.batch_seconds = MIN_BATCH, MAX_BATCH, BATCH_SECONDS
        self._dialect: str | None = None
        self.default_source = default_source
        self.via = via
        #: The upload job the lines come from (named in each line's audit event).
        self.job_id = job_id
        #: Called in each batch's transaction with its results and the search keys of the households it
        #: created, before it commits (an import job records them there, so that results and writes commit
        #: together).
        self.on_batch = on_batch
        self.counts: Counter[str] = Counter()
        self.lines = 0
        #: Batches done again line by line (a failing line, or a key imported concurrently).
        self.isolated_batches = 0

    async def run(self, lines: AsyncIterator[RawLine]) -> AsyncIterator[list[LineResult]]:
        """Yield the results of each batch once it is committed."""
        batch: list[RawLine] = []
        async for item in lines:
            batch.append(item)
            if len(batch) >= self.batch_size:
                yield await self._timed(batch)
                batch = []
        if batch:
            yield await self._timed(batch)

    async def _timed(self, batch: list[RawLine]) -> list[LineResult]:
        started = time.perf_counter()
        results = await self._batch(batch)
        if self.adaptive and len(batch) >= self.batch_size:
            elapsed = max(time.perf_counter() - started, 1e-3)
            wanted = int(self.batch_size * self.batch_seconds / elapsed)
            # move towards the target by at most a factor of two per batch
            self.batch_size = max(
                self.min_batch, min(self.max_batch, self.batch_size * 2, max(self.batch_size // 2, wanted))
            )
        return results

    async def _batch(self, batch: list[RawLine]) -> list[LineResult]:
        parsed = await anyio.to_thread.run_sync(parse_batch, batch, self.default_source, self.principal)
        try:
            # Most batches are clean: import them at once, a few statements for the whole batch ...
            results = await self._attempt(parsed, isolate=False)
        except (IntegrityError, DBAPIError) as exc:
            # ... and when a key was imported concurrently, or the database gave up on the
            # transaction (a deadlock with another import, SQLite's busy timeout), do the batch again with
            # each line in a savepoint of its own, so that a failing line is rolled back alone.
            if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError) and not _retryable(exc):
                raise
            self.isolated_batches += 1
            log.info("bulk_batch_isolated", lines=len(batch), reason=type(exc.__cause__ or exc).__name__)
            results = await self._attempt(parsed, isolate=True)
        for r in results:
            self.counts[r.status] += 1
        self.lines += len(results)
        return results

    async def _attempt(self, parsed: list[Parsed], *, isolate: bool) -> list[LineResult]:
        results: list[LineResult] = []
        created: CreatedKeys = {}
        async with open_session(self.state.sessionmaker, write=True) as session:
            if self._dialect is None:
                self._dialect = session.get_bind().dialect.name
                if self._dialect == "postgresql":
                    # row locks, not one write lock: longer batches hold up no one, and amortize their statements
                    self.min_batch, self.max_batch, self.batch_seconds = PG_MIN_BATCH, PG_MAX_BATCH, PG_BATCH_SECONDS
            records = await repository.records_of(
                session, [(p.model.source.value, p.model.external_id) for p in parsed if p.model is not None]
            )
            if isolate:
                for p in parsed:
                    if p.model is None:
                        results.append(_rejected(p))
                    else:
                        results.append(await self._line(session, p, records))
                await self._audit(session, results, parsed)
            else:
                # audit rows collect in the session and are written at once (COPY on PostgreSQL)
                audit.start_batch(session)
                results = await self._fast(session, parsed, records, created)
                await self._audit(session, results, parsed)
                await insert_rows(session, AuditEvent.__table__, audit.take_batch(session))
            if self.on_batch is not None:
                await self.on_batch(session, results, created)
        return results

    async def _fast(
        self, session: AsyncSession, parsed: list[Parsed], records: dict[tuple[str, str], Any], created: CreatedKeys
    ) -> list[LineResult]:
        """The whole batch at once (:func:`app.integrations.batch.ingest_batch`); ``created`` takes the search
        keys of the households it created."""
        valid = [p for p in parsed if p.model is not None]
        outcomes = iter(
            await ingest_batch(
                session,
                self.principal,
                self.state.security,
                [(p.model, p.digest or "") for p in valid],  # type: ignore[misc]
                records,
            )
        )
        results = []
        for p in parsed:
            if p.model is None:
                results.append(_rejected(p))
                continue
            o = next(outcomes)
            if o.created is not None and o.status == "created":
                created[o.household_id] = o.created.search_keys
            # values the batch made itself: no validation
            results.append(
                LineResult.model_construct(
                    line=p.line, external_id=p.model.external_id, status=o.status, household_id=o.household_id
                )
            )
        return results

    async def _line(self, session: AsyncSession, p: Parsed, records: dict[tuple[str, str], ImportRecord]) -> LineResult:
        m = p.model
        assert m is not None
        key = (m.source.value, m.external_id)
        for attempt in (1, 2):
            mark = pending_mark(session)
            savepoint = await session.begin_nested()
            try:
                applied = await apply_import(
                    self.state,
                    session,
                    self.principal,
                    m.source,
                    m.external_id,
                    m,
                    record=records.get(key),
                    digest=p.digest,
                    prefix="",
                )
                await savepoint.commit()
            except Problem as problem:
                await savepoint.rollback()
                pending_restore(session, mark)
                records.pop(key, None)
                return LineResult(
                    line=p.line, external_id=m.external_id, status="rejected", errors=problem_errors(problem)
                )
            except IntegrityError:
                # Another process imported the same key meanwhile: look again and retry once.
                await savepoint.rollback()
                pending_restore(session, mark)
                records.pop(key, None)
                found = await repository.find_record(session, *key)
                if found is not None:
                    records[key] = found
                if attempt == 2:
                    error = LineError(field="", code="conflict", message=t("detail.integrity"))
                    return LineResult(line=p.line, external_id=m.external_id, status="rejected", errors=[error])
                continue
            records[key] = applied.record
            return LineResult(
                line=p.line, external_id=m.external_id, status=applied.status, household_id=applied.record.household_id
            )
        raise AssertionError("unreachable")

    async def _audit(self, session: AsyncSession, results: list[LineResult], parsed: list[Parsed]) -> None:
        """One ``integrations.import`` event per imported line (``unchanged`` too), naming its household: who
        wrote which household, when, through which import (``via``, the upload's ``job_id``); ``status``
        ``created`` is the household's creation, and every status but ``unchanged`` a signal recorded
        (docs/access.md#audit)."""
        extra = {"job_id": str(self.job_id)} if self.job_id is not None else {}
        groups: dict[tuple[str, str], list[tuple[uuid.UUID, uuid.UUID | None]]] = {}
        for r, p in zip(results, parsed, strict=True):
            if r.household_id is None or p.model is None:
                continue
            groups.setdefault((r.status, p.model.source.value), []).append((r.household_id, r.household_id))
        for (status, source), items in groups.items():
            await audit.record_many(
                session,
                self.principal,
                "integrations.import",
                entity="household",
                items=items,
                details={"status": status, "source": source, "via": self.via, **extra},
            )

    async def record_summary(self, *, result: str = "ok") -> None:
        """One audit event for the whole import (counts only)."""
        async with open_session(self.state.sessionmaker, write=True) as session:
            await audit.record(
                session,
                self.principal,
                "integrations.bulk",
                entity="integration_import",
                result=result,
                details={"lines": self.lines, "via": self.via, **dict(self.counts)},
            )

    def summary(self) -> dict[str, Any]:
        return {"lines": self.lines, **{k: self.counts.get(k, 0) for k in _STATUSES}}


_STATUSES = ("created", "updated", "unchanged", "matched", "reopened", "rejected")


def _rejected(p: Parsed) -> LineResult:
    return LineResult(line=p.line, external_id=p.external_id, status="rejected", errors=p.errors)
