"""Accepting a spreadsheet for import over REST (docs/integrations.md §2): ``POST /v1/integrations/imports``.

Upload
    The multipart body is streamed into a scratch file (never more than a part's buffer in memory) and bounded
    (:data:`MAX_UPLOAD_BYTES`; an XLSX also by its unpacked size, ``ONGI_IMPORT_XLSX_MAX_UNCOMPRESSED_MIB``). The
    file is checked before anything is accepted (readable, a header naming ``external_id``), kept in the
    app's storage (local files or S3: every process of the deployment reaches it) under
    ``imports/<job id>``, and an :class:`~app.integrations.models.ImportJob` is committed, already leased to the
    process that received it. The answer is 202 with the job.

The job then runs in the background (:mod:`app.integrations.imports`).
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from pathlib import Path

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.errors import Problem, field_problem
from app.core.principal import Principal
from app.core.state import AppState
from app.integrations.imports import LEASE_SECONDS
from app.integrations.models import ImportJob
from app.integrations.spreadsheet import Unreadable, header_map, read_rows
from app.journal import audit

#: Largest upload (the raw multipart body).
MAX_UPLOAD_BYTES = 256 * 1024 * 1024

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}


def file_format(filename: str | None, content_type: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return "csv"
    if media == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        return "xlsx"
    raise Problem(415, "unsupported-media-type", "integrations.upload-format")


def storage_key(job_id: uuid.UUID, fmt: str) -> str:
    return f"imports/{job_id}.{fmt}"


def unreadable_problem(exc: Unreadable) -> Problem:
    if exc.code == "xlsx-too-large":
        return Problem(413, "payload-too-large", "integrations.xlsx-too-large", params=exc.params)
    return field_problem("body.file", "integrations.unreadable-file")


def inspect_file(path: Path, fmt: str, sheet: str | None, max_uncompressed: int) -> int | None:
    """Check that the file can be imported (raises :class:`Problem`); returns its count of data rows if known.
    Blocking: run it in a worker thread."""
    try:
        header, rows, total = read_rows(path, sheet, max_uncompressed=max_uncompressed, fmt=fmt)
    except Unreadable as exc:
        raise unreadable_problem(exc) from exc
    except KeyError as exc:  # an XLSX sheet that is not there
        raise field_problem("body.sheet", "integrations.unknown-sheet") from exc
    except Exception as exc:  # openpyxl or the CSV reader refusing the content
        raise field_problem("body.file", "integrations.unreadable-file") from exc
    rows.close()
    fields = header_map(header)
    if "external_id" not in fields:
        raise field_problem("body.file", "integrations.missing-column", columns="external_id (관리번호)")
    return total


# --- creating a job --------------------------------------------------------------------------------------------


async def create_job(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    path: Path,
    *,
    fmt: str,
    size: int,
    source: str | None,
    sheet: str | None,
) -> tuple[ImportJob, uuid.UUID]:
    """Check the uploaded scratch file, store it and add the job (leased to this process) to the request's
    transaction; returns it and its lease token. Once that transaction committed, :func:`spawn` it. The scratch
    file is consumed."""
    from app.media.storage import get_storage

    total = await anyio.to_thread.run_sync(
        inspect_file, path, fmt, sheet, state.settings.import_xlsx_max_uncompressed_mib * 1024 * 1024
    )
    job_id = uuid.uuid4()
    key = storage_key(job_id, fmt)
    storage = get_storage(state)
    await storage.adopt_file(key, path)
    token = uuid.uuid4()
    now = utcnow()
    try:
        job = ImportJob(
            id=job_id,
            status="queued",
            file_format=fmt,
            storage_key=key,
            size_bytes=size,
            submitted_by_id=principal.user_id,
            organization_id=principal.organization_id,
            default_source=source,
            sheet=sheet,
            rows_total=total,
            lease_token=token,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
            counts={},
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        await session.flush()
        await audit.record(
            session,
            principal,
            "integrations.import_job.create",
            entity="integration_import_job",
            entity_id=job_id,
            details={"format": fmt, "bytes": size, "rows": total},
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await storage.delete(key)
        raise
    return job, token
