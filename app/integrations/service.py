"""Importing households in crisis from other systems (DESIGN §6): one at a time, or a stream of lines.

Idempotency
    Each (source, external id) has an :class:`~app.integrations.models.ImportRecord` holding the sha256 of
    the last accepted payload (canonical JSON: sorted keys, ``observed_at`` in UTC). The same payload again
    is ``unchanged`` and writes nothing; a different one goes through
    :func:`app.households.service.ingest_signal` (matching against open and closed households, the signal,
    risk, recurrence) and the record takes the new hash. The signal's ``external_ref`` is the external id,
    so the households service also recognises a repeated observation (same source, reference and time).

Statuses
    first payload for a key: ``created`` (a new household), ``matched`` (an existing open household) or
    ``reopened`` (a closed household reopened: a recurrence); a new payload for a known key: ``updated``, or
    ``reopened`` when it reopened a closed household; the same payload again: ``unchanged``; a line that
    cannot be imported: ``rejected`` with ``errors``.

Streams
    :func:`import_lines` takes numbered raw lines (NDJSON bytes, or dicts from a spreadsheet), validates
    a batch in a worker thread, and imports it in **one transaction per batch** of its own
    (``open_session(state.sessionmaker)``), each line in a savepoint: a bad line is rolled back alone, and
    every finished batch is durable before its results are handed out. A stream cut off and sent again
    doubles nothing: finished batches answer ``unchanged``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.principal import Principal
from app.core.changes import pending_mark, pending_restore
from app.core.db import open_session, utcnow
from app.core.errors import Problem
from app.core.i18n import t
from app.core.state import AppState
from app.core.times import rfc3339
from app.households.models import SignalSource
from app.households.service import ingest_signal
from app.integrations import messages as _messages  # noqa: F401 - registers the messages
from app.integrations.batch import ingest_batch, insert_rows
from app.integrations.models import ImportRecord
from app.integrations.schemas import ImportLine, ImportPayload, LineError, LineResult

log = structlog.get_logger("ongi.integrations")

#: Lines per transaction, adapted while importing (unless fixed by the caller): a batch aims at
#: ``BATCH_SECONDS`` so that it holds SQLite's single write lock (PostgreSQL: its row locks) for a fraction of
#: a second — phones keep syncing during an import — while amortizing the commit over many lines.
BATCH_SIZE = 200
#: A batch costs a few statements whatever its size (app.integrations.batch): never fewer than MIN_BATCH lines,
#: or a loaded machine would shrink batches until their fixed cost is all the import does.
MIN_BATCH, MAX_BATCH = 100, 1000
BATCH_SECONDS = 0.25
MAX_LINE_BYTES = 64 * 1024

RawLine = tuple[int, bytes | dict[str, Any] | list[LineError]]


# --- digests and errors --------------------------------------------------------------------------------------


def payload_digest(source: str, external_id: str, payload: ImportPayload) -> str:
    data = payload.model_dump(mode="json", include=set(ImportPayload.model_fields))
    data["observed_at"] = rfc3339(payload.observed_at)
    canonical = json.dumps(
        {"source": source, "external_id": external_id, "payload": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def line_error(field: str, key: str, code: str = "value_error", **params: Any) -> LineError:
    return LineError(field=field, code=code, message=t(key, **params))


def validation_errors(exc: ValidationError, prefix: str = "") -> list[LineError]:
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ()))
        code = str(err.get("type", "value_error"))
        msg = str(err.get("msg", ""))
        key = f"field.{code}"
        text = t(key, msg=msg) if code == "value_error" else t(key)
        out.append(LineError(field=prefix + field, code=code, message=msg if text == key else text))
    return out


def problem_errors(problem: Problem, prefix: str = "") -> list[LineError]:
    errors = problem.extra.get("errors")
    if isinstance(errors, list) and errors:
        return [
            LineError(
                field=prefix + str(e.get("field", "")).removeprefix("body."),
                code=str(e.get("code", problem.slug)),
                message=str(e.get("message", "")),
            )
            for e in errors
        ]
    body = problem.body()
    return [LineError(field="", code=problem.slug, message=str(body.get("detail") or body.get("title")))]


def outside_jurisdiction(prefix: str) -> Problem:
    error = line_error(f"{prefix}household.dong_code", "integrations.outside-jurisdiction")
    return Problem(422, "validation", "detail.validation", params={"count": 1}, extra={"errors": [error.model_dump()]})


# --- one payload -----------------------------------------------------------------------------------------------


@dataclass
class Applied:
    status: str
    record: ImportRecord
    created_record: bool


async def find_record(session: AsyncSession, source: str, external_id: str) -> ImportRecord | None:
    return (
        await session.execute(
            select(ImportRecord).where(ImportRecord.source == source, ImportRecord.external_id == external_id)
        )
    ).scalar_one_or_none()


async def apply_import(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    source: SignalSource,
    external_id: str,
    payload: ImportPayload,
    *,
    record: ImportRecord | None,
    digest: str | None = None,
    prefix: str = "body.",
    flush: bool = True,
) -> Applied:
    """Import one payload (raises :class:`Problem` when it cannot). ``record`` is the key's current record."""
    if not principal.in_jurisdiction(payload.household.dong_code):
        raise outside_jurisdiction(prefix)
    digest = digest or payload_digest(source.value, external_id, payload)
    if record is not None and record.payload_sha256 == digest:
        return Applied("unchanged", record, False)
    result = await ingest_signal(
        session,
        principal,
        source=source,
        indicators=list(payload.indicators),
        observed_at=payload.observed_at,
        external_ref=external_id,
        details=dict(payload.details),
        target=payload.household,
        security=state.security,
    )
    now = utcnow()
    if record is None:
        status = result.outcome
        record = ImportRecord(
            source=source.value,
            external_id=external_id,
            payload_sha256=digest,
            household_id=result.household.id,
            signal_id=result.signal.id,
            last_result=status,
            client_id=principal.user_id,
            accepted=1,
            last_imported_at=now,
        )
        session.add(record)
        created = True
    else:
        status = "reopened" if result.outcome == "reopened" else "updated"
        record.payload_sha256 = digest
        record.household_id = result.household.id
        record.signal_id = result.signal.id
        record.last_result = status
        record.client_id = principal.user_id
        record.accepted = (record.accepted or 0) + 1
        record.last_imported_at = now
        created = False
    if flush:
        await session.flush()
    return Applied(status, record, created)


# --- streams of lines ------------------------------------------------------------------------------------------


async def ndjson_lines(chunks: AsyncIterator[bytes], *, max_line: int = MAX_LINE_BYTES) -> AsyncIterator[RawLine]:
    """Numbered lines of an NDJSON byte stream, never holding more than one line (``max_line``) in memory.
    Blank lines are skipped (but counted); an over-long line is answered as an error and skipped."""
    buf = bytearray()
    number = 0
    skipping = False
    too_long = [line_error("", "integrations.line-too-long", code="too_long", limit=max_line)]

    def finish_line() -> RawLine | None:
        nonlocal skipping
        if skipping:
            skipping = False
            buf.clear()
            return number, too_long
        line = bytes(buf).strip()
        buf.clear()
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf").strip()
        return (number, line) if line else None

    async for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not skipping:
                buf += piece
                if len(buf) > max_line:
                    skipping = True
                    buf.clear()
            if end < 0:
                break
            start = end + 1
            number += 1
            item = finish_line()
            if item is not None:
                yield item
    if buf or skipping:
        number += 1
        item = finish_line()
        if item is not None:
            yield item


@dataclass
class Parsed:
    line: int
    external_id: str | None
    model: ImportLine | None = None
    errors: list[LineError] | None = None
    digest: str | None = None


def parse_batch(batch: list[RawLine], default_source: str | None, principal: Principal) -> list[Parsed]:
    """Validate raw lines, and that each household lies in the principal's jurisdiction (CPU work: run it
    in a worker thread)."""
    out = []
    for number, raw in batch:
        if isinstance(raw, list):
            out.append(Parsed(number, None, errors=raw))
            continue
        data: Any = raw
        if isinstance(raw, bytes):
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(Parsed(number, None, errors=[line_error("", "integrations.invalid-utf8", "json_invalid")]))
                continue
            except ValueError:
                out.append(Parsed(number, None, errors=[line_error("", "integrations.invalid-json", "json_invalid")]))
                continue
        if not isinstance(data, dict):
            out.append(Parsed(number, None, errors=[line_error("", "integrations.invalid-json", "json_invalid")]))
            continue
        if default_source and "source" not in data:
            data = {**data, "source": default_source}
        ext = data.get("external_id")
        external_id = ext if isinstance(ext, str) else None
        try:
            model = ImportLine.model_validate(data)
        except ValidationError as exc:
            out.append(Parsed(number, external_id, errors=validation_errors(exc)))
            continue
        if not principal.in_jurisdiction(model.household.dong_code):
            error = line_error("household.dong_code", "integrations.outside-jurisdiction")
            out.append(Parsed(number, external_id, errors=[error]))
            continue
        digest = payload_digest(model.source.value, model.external_id, model)
        out.append(Parsed(number, model.external_id, model=model, digest=digest))
    return out


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
        on_batch: Callable[[AsyncSession, list[LineResult]], Awaitable[None]] | None = None,
    ) -> None:
        self.state, self.principal = state, principal
        self.adaptive = batch_size is None
        self.batch_size = batch_size or BATCH_SIZE
        self.default_source = default_source
        self.via = via
        #: Called in each batch's transaction with its results, before it commits (an import job records
        #: them there, so that results and writes commit together).
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
            wanted = int(self.batch_size * BATCH_SECONDS / elapsed)
            # move towards the target by at most a factor of two per batch
            self.batch_size = max(MIN_BATCH, min(MAX_BATCH, self.batch_size * 2, max(self.batch_size // 2, wanted)))
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
        async with open_session(self.state.sessionmaker, write=True) as session:
            records = await self._records(session, [p.model for p in parsed if p.model is not None])
            if isolate:
                for p in parsed:
                    if p.model is None:
                        results.append(
                            LineResult(line=p.line, external_id=p.external_id, status="rejected", errors=p.errors)
                        )
                    else:
                        results.append(await self._line(session, p, records))
                await self._audit(session, results, parsed)
            else:
                # audit rows collect in the session and are written at once (COPY on PostgreSQL)
                audit.start_batch(session)
                results = await self._fast(session, parsed, records)
                await self._audit(session, results, parsed)
                await insert_rows(session, AuditEvent.__table__, session.info.pop(audit.BATCH_KEY, None) or [])
            if self.on_batch is not None:
                await self.on_batch(session, results)
        return results

    async def _fast(
        self, session: AsyncSession, parsed: list[Parsed], records: dict[tuple[str, str], Any]
    ) -> list[LineResult]:
        """The whole batch at once (:func:`app.integrations.batch.ingest_batch`)."""
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
                results.append(LineResult(line=p.line, external_id=p.external_id, status="rejected", errors=p.errors))
                continue
            o = next(outcomes)
            results.append(
                LineResult(line=p.line, external_id=p.model.external_id, status=o.status, household_id=o.household_id)
            )
        return results

    @staticmethod
    async def _records(session: AsyncSession, models: list[ImportLine]) -> dict[tuple[str, str], ImportRecord]:
        if not models:
            return {}
        rows = (
            await session.execute(
                select(ImportRecord).where(
                    ImportRecord.source.in_({m.source.value for m in models}),
                    ImportRecord.external_id.in_({m.external_id for m in models}),
                )
            )
        ).scalars()
        return {(r.source, r.external_id): r for r in rows}

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
                found = await find_record(session, *key)
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
                details={"status": status, "source": source, "via": self.via},
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


def result_line(result: LineResult) -> bytes:
    return (result.model_dump_json(exclude_none=True) + "\n").encode()


def results_lines(results: Iterable[LineResult]) -> bytes:
    return b"".join(result_line(r) for r in results)
