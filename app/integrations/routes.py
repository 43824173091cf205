"""``PUT /v1/integrations/households/{source}/{external_id}``, ``POST /v1/integrations/households:bulk`` and
``POST /v1/integrations/imports`` with ``GET …/imports/{id}`` and ``…/results`` (docs/integrations.md §2): crisis
lists from the national big-data system, arrears data and benefit systems, as JSON, NDJSON or spreadsheets."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import anyio.to_thread
import structlog
from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from app.access import gates
from app.access.integrations import may_read_imported
from app.core.deps import SessionDep, StateDep
from app.core.errors import NotFound, Problem, field_problem, problem_response
from app.core.principal import Principal
from app.core.state import AppState
from app.core.tabular import TABLE_RESPONSES, Column, negotiate, table_response
from app.households.models import SignalSource
from app.integrations import repository
from app.integrations.bulk import BulkImporter
from app.integrations.imports import (
    get_job,
    result_pages,
    spawn,
    start_background_work,
    stop_background_work,
)
from app.integrations.lines import ndjson_lines, results_lines
from app.integrations.models import ImportJob
from app.integrations.schemas import ExternalId, ImportCounts, ImportJobOut, ImportPayload, ImportResult
from app.integrations.service import apply_import
from app.integrations.uploads import MAX_UPLOAD_BYTES, create_job, file_format
from app.journal import audit


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Resume imports whose process died (app.integrations.imports), and let ours finish at shutdown."""
    state = app.state.ongi
    await start_background_work(state)
    try:
        yield
    finally:
        await stop_background_work(state)


router = APIRouter(tags=["integrations"], lifespan=lifespan)
log = structlog.get_logger("ongi.integrations")

SourcePath = Annotated[SignalSource, Path(description="Where the list comes from")]
ExternalIdPath = Annotated[ExternalId, Path(description="The household's id in the sending system")]

NDJSON = "application/x-ndjson"
NDJSON_TYPES = frozenset({NDJSON, "application/ndjson", "application/jsonl", "application/x-jsonlines", "text/plain"})
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Needs the households:import scope"},
}


def _result(applied: Any, source: SignalSource, external_id: str) -> ImportResult:
    return ImportResult(
        source=source,
        external_id=external_id,
        status=applied.status,
        household_id=applied.record.household_id,
        signal_id=applied.record.signal_id,
        imported_at=applied.record.last_imported_at,
    )


@router.put(
    "/v1/integrations/households/{source}/{external_id}",
    response_model=ImportResult,
    summary="Import one household of a crisis list (idempotent)",
    responses={
        200: {"description": "Imported again: updated, reopened, or unchanged (same payload as before)"},
        201: {"description": "First import of this (source, external_id)"},
        **_ERRORS,
        409: {"description": "The same key was imported concurrently; retry"},
        422: {"description": "Invalid payload, unknown indicator, or a household outside your jurisdiction"},
    },
)
async def import_household(
    source: SourcePath,
    external_id: ExternalIdPath,
    body: ImportPayload,
    principal: gates.ImportClient,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> ImportResult:
    record = await repository.find_record(session, source.value, external_id)
    applied = await apply_import(state, session, principal, source, external_id, body, record=record)
    await audit.record(
        session,
        principal,
        "integrations.import",
        entity="household",
        entity_id=applied.record.household_id,
        household_id=applied.record.household_id,
        details={"status": applied.status, "source": source.value, "via": "api", "import_id": str(applied.record.id)},
    )
    response.status_code = 201 if applied.created_record else 200
    return _result(applied, source, external_id)


@router.get(
    "/v1/integrations/households/{source}/{external_id}",
    response_model=ImportResult,
    summary="What the last import of this (source, external_id) did",
    responses={**_ERRORS, 404: {"description": "Never imported, or outside your jurisdiction"}},
)
async def get_import(
    source: SourcePath, external_id: ExternalIdPath, principal: gates.ImportClient, session: SessionDep
) -> ImportResult:
    record = await repository.find_record(session, source.value, external_id)
    household = await repository.household(session, record.household_id) if record is not None else None
    if record is None or not may_read_imported(principal, household):
        raise NotFound()
    return ImportResult(
        source=source,
        external_id=external_id,
        status=record.last_result,  # type: ignore[arg-type]
        household_id=record.household_id,
        signal_id=record.signal_id,
        imported_at=record.last_imported_at,
    )


class BulkImportResponse(Response):
    """Reads the NDJSON body line by line and imports it batch by batch, then streams one result per line.

    The import runs here, after the request's own session has committed and closed, with a session per
    batch. Results are spooled (memory up to 1 MiB, then a temporary file) and sent once the whole body has
    been read: a client that sends its whole body before reading the answer (most HTTP clients) would
    otherwise block on a full socket while we block on sending to it.
    """

    media_type = NDJSON

    def __init__(self, state: AppState, principal: Principal, *, default_source: str | None) -> None:
        # Not Response.__init__: it would declare ``Content-Length: 0`` for an empty body. The length is
        # known, and declared, once the results are spooled.
        self.status_code = 200
        self.background = None
        self.body = None  # type: ignore[assignment]
        self.init_headers({"Cache-Control": "no-store"})
        self.state, self.principal, self.default_source = state, principal, default_source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        importer = BulkImporter(self.state, self.principal, default_source=self.default_source)
        with tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+b") as spool:
            trailer: dict[str, Any]
            try:
                async for results in importer.run(ndjson_lines(request.stream())):
                    spool.write(results_lines(results))
                trailer = {"summary": importer.summary()}
            except ClientDisconnect:
                log.info("bulk_import_disconnected", lines=importer.lines)
                await importer.record_summary(result="disconnected")
                return
            except Exception:
                log.exception("bulk_import_failed", lines=importer.lines)
                if not importer.lines:  # nothing done: an ordinary error answer
                    problem = Problem(503, "unavailable", "detail.unavailable", headers={"Retry-After": "30"})
                    await problem_response(problem, request)(scope, receive, send)
                    return
                # Some batches were committed: answer their results, and say the import stopped (send the
                # list again: what was done answers "unchanged").
                trailer = {"error": {"type": "internal", "lines_done": importer.lines}, "summary": importer.summary()}
            await importer.record_summary(result="ok" if "error" not in trailer else "error")
            spool.write(_json(trailer).encode() + b"\n")
            length = spool.tell()
            spool.seek(0)
            headers = [*self.raw_headers, (b"content-length", str(length).encode())]
            await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
            while chunk := spool.read(64 * 1024):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@router.post(
    "/v1/integrations/households:bulk",
    summary="Import a crisis list as NDJSON, one result per line",
    response_class=Response,
    responses={
        200: {
            "description": "One JSON object per input line ({line, external_id, status, household_id?, errors?}), "
            "then a last line {summary: {...}}",
            "content": {NDJSON: {}},
        },
        **_ERRORS,
        415: {"description": "The body is not NDJSON"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {NDJSON: {"schema": {"type": "string", "description": "one import line per line"}}},
        }
    },
)
async def import_bulk(
    request: Request,
    principal: gates.ImportClient,
    state: StateDep,
    source: Annotated[SignalSource | None, Query(description="Source for lines that do not name one")] = None,
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in NDJSON_TYPES:
        raise Problem(415, "unsupported-media-type", "integrations.unsupported-media-type")
    return BulkImportResponse(state, principal, default_source=source.value if source else None)


# --- spreadsheets over REST (docs/integrations.md §2) ---------------------------------------------------------------

JobIdPath = Annotated[uuid.UUID, Path(description="The import's id (from POST /v1/integrations/imports)")]
_JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Needs a coordinator, or an integration client with the households:import scope"},
    404: {"description": "No such import, or not yours"},
}


def _job_out(job: ImportJob) -> ImportJobOut:
    if job.status == "done":
        progress: float | None = 1.0
    elif job.rows_total:
        progress = round(min(1.0, job.rows / job.rows_total), 4)
    else:
        progress = None
    counts = job.counts or {}
    return ImportJobOut(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        file_format=job.file_format,  # type: ignore[arg-type]
        size_bytes=job.size_bytes,
        rows_total=job.rows_total,
        rows=job.rows,
        applied=job.applied,
        unchanged=job.unchanged,
        rejected=job.rejected,
        counts=ImportCounts(**{k: int(counts.get(k, 0)) for k in ImportCounts.model_fields}),
        progress=progress,
        error=job.error,
        results_url=f"/v1/integrations/imports/{job.id}/results",
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise Problem(413, "payload-too-large", "detail.payload-too-large", params={"limit": limit})
        yield chunk


def _copy_to(src: Any, dst: FilePath) -> int:
    src.seek(0)
    with dst.open("wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
        return out.tell()


@router.post(
    "/v1/integrations/imports",
    status_code=202,
    response_model=ImportJobOut,
    summary="Upload a crisis list (CSV or XLSX) to import in the background",
    description=(
        "A multipart form with the file in `file` (and optionally `source`, for rows without a source column, and "
        "`sheet`, an XLSX sheet other than the first). The file is checked (readable, a header with "
        "`external_id`/관리번호) and answered 202 with the import; `GET /v1/integrations/imports/{id}` shows its "
        "progress and `…/results` the result of every row. Rows are imported as by "
        "`POST /v1/integrations/households:bulk` (idempotent: the same file again changes nothing)."
    ),
    responses={
        202: {"description": "Accepted: the import runs in the background"},
        **{k: v for k, v in _JOB_ERRORS.items() if k != 404},
        413: {"description": "The file is too large (or an XLSX unpacks to too much)"},
        415: {"description": "Not multipart, or the file is neither CSV nor XLSX"},
        422: {"description": "No file, an unreadable file, or no external_id column"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary", "description": "a .csv or .xlsx file"},
                            "source": {"type": "string", "enum": [s.value for s in SignalSource]},
                            "sheet": {"type": "string", "maxLength": 100},
                        },
                    }
                }
            },
        }
    },
)
async def upload_import(
    request: Request, principal: gates.Importer, state: StateDep, session: SessionDep
) -> JSONResponse:
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    from app.media.storage import scratch_dir

    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        raise Problem(415, "unsupported-media-type", "integrations.upload-multipart")
    parser = MultiPartParser(
        request.headers, _limited(request.stream(), MAX_UPLOAD_BYTES), max_files=1, max_fields=10, max_part_size=1024
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise field_problem("body.file", "integrations.upload-malformed") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise field_problem("body.file", "field.missing")
        source = form.get("source")
        if source is not None and source not in {s.value for s in SignalSource}:
            raise field_problem("body.source", "integrations.unknown-source")
        sheet = form.get("sheet")
        if sheet is not None and (not isinstance(sheet, str) or len(sheet) > 100):
            raise field_problem("body.sheet", "integrations.unknown-sheet")
        fmt = file_format(upload.filename, upload.content_type)
        folder = scratch_dir(state)
        await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
        path = folder / f"import-{uuid.uuid4().hex}.{fmt}"
        try:
            size = await anyio.to_thread.run_sync(_copy_to, upload.file, path)
            job, token = await create_job(
                state, session, principal, path, fmt=fmt, size=size, source=source or None, sheet=sheet or None
            )
        finally:
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
    finally:
        await form.close()
    return _Accepted(_job_out(job).model_dump(mode="json"), state, job.id, token)


class _Accepted(JSONResponse):
    """202 with the job; the import starts once the answer is sent, i.e. after the request's transaction (which
    holds the job's row) has committed."""

    def __init__(self, body: dict[str, Any], state: AppState, job_id: uuid.UUID, token: uuid.UUID) -> None:
        super().__init__(
            body,
            status_code=202,
            headers={"Location": f"/v1/integrations/imports/{job_id}", "Cache-Control": "no-store"},
        )
        self.state, self.job_id, self.token = state, job_id, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)
        spawn(self.state, self.job_id, self.token)


@router.get(
    "/v1/integrations/imports/{import_id}",
    response_model=ImportJobOut,
    summary="An uploaded import: status, counts and progress",
    responses=_JOB_ERRORS,
)
async def get_import_job(
    import_id: JobIdPath, principal: gates.Importer, session: SessionDep, response: Response
) -> ImportJobOut:
    job = await get_job(session, principal, import_id)
    response.headers["Cache-Control"] = "no-store"
    return _job_out(job)


RESULT_TABLE = [
    Column("line", "행 (row)"),
    Column("external_id", "관리번호 (external_id)"),
    Column("status", "결과 (status)"),
    Column("household_id", "가구 ID (household_id)"),
    Column("reason", "사유 (reason)"),
    Column("duplicates", "중복 후보 (possible duplicates)"),
]


@router.get(
    "/v1/integrations/imports/{import_id}/results",
    summary="The result of every row of an uploaded import, as CSV or XLSX (by Accept or format=)",
    response_class=Response,
    responses={
        **TABLE_RESPONSES,
        **_JOB_ERRORS,
        409: {"description": "The import has not finished yet (see Retry-After)"},
    },
)
async def get_import_results(
    import_id: JobIdPath,
    request: Request,
    principal: gates.Importer,
    state: StateDep,
    session: SessionDep,
    format: Annotated[Literal["csv", "xlsx"] | None, Query(description="csv or xlsx (wins over Accept)")] = None,
) -> Response:
    fmt = negotiate(format, request.headers.get("accept"))
    job = await get_job(session, principal, import_id)
    if job.status in ("queued", "running"):
        raise Problem(409, "import-running", "integrations.import-running", headers={"Retry-After": "5"})
    await audit.record(
        session,
        principal,
        "integrations.import_job.download",
        entity="integration_import_job",
        entity_id=job.id,
        details={"format": fmt, "rows": job.rows},
    )
    return table_response(
        fmt,
        RESULT_TABLE,
        result_pages(state, job.id),
        filename=f"ongi-import-{str(job.id)[:8]}-results",
        tz=state.settings.tz,
        sheet="results",
    )
