"""``PUT /v1/integrations/households/{source}/{external_id}`` and ``POST /v1/integrations/households:bulk``
(DESIGN §6): crisis lists from the national big-data system, arrears data and benefit systems."""

from __future__ import annotations

import json
import tempfile
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from app.audit import service as audit
from app.auth.deps import require_scope
from app.auth.principal import Principal
from app.core.deps import SessionDep, StateDep
from app.core.errors import Problem, not_found, problem_response
from app.core.state import AppState
from app.households.models import SignalSource
from app.integrations.schemas import ExternalId, ImportPayload, ImportResult
from app.integrations.service import (
    BulkImporter,
    apply_import,
    find_record,
    ndjson_lines,
    results_lines,
)

router = APIRouter(tags=["integrations"])
log = structlog.get_logger("ongi.integrations")

Importer = Annotated[Principal, Depends(require_scope("households:import"))]
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
    principal: Importer,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> ImportResult:
    record = await find_record(session, source.value, external_id)
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
    source: SourcePath, external_id: ExternalIdPath, principal: Importer, session: SessionDep
) -> ImportResult:
    from app.households.models import Household

    record = await find_record(session, source.value, external_id)
    household = await session.get(Household, record.household_id) if record is not None else None
    if record is None or household is None or not principal.in_jurisdiction(household.dong_code):
        raise not_found()
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
    principal: Importer,
    state: StateDep,
    source: Annotated[SignalSource | None, Query(description="Source for lines that do not name one")] = None,
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in NDJSON_TYPES:
        raise Problem(415, "unsupported-media-type", "integrations.unsupported-media-type")
    return BulkImportResponse(state, principal, default_source=source.value if source else None)
