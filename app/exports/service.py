"""Streaming exports of households, visits, supports and campaign summaries (docs/integrations.md, Exports;
issue 18, item 6), as NDJSON for machines, and as CSV or XLSX for people who open them in a spreadsheet.

An export pages through the database by an immutable key (``created_at``, ``id``), a page at a time, each
page in a short transaction of its own (the request's session has closed by the time the body streams):
a slow reader never holds a transaction open, every row that existed when the export started is sent
exactly once, and memory stays bounded by one page. Each page is scoped by the access policy and shaped by
the owning domain's view function (the same redaction as the REST API: a household as REST lists it, never a
registration number or another sensitive field), and audited (one event per record with its household)
before it is sent.

Formats. ``ndjson`` carries the record's fields with their ids (``VISIT_COLUMNS`` …). ``csv`` and ``xlsx``
are for people (:mod:`app.core.tabular`: UTF-8 with a byte order mark, formulas neutralised; a real
workbook): names instead of ids (dongs by ``app.areas``, resources, providers, workers, campaigns and
facilities), headers in the caller's language (Korean first, English by ``Accept-Language``), times in the
service's time zone.

Here: the stream (pages, audit, writers) and the download's reason. The kinds are :mod:`app.exports.kinds`
(one module each), their queries :mod:`app.exports.repository`, who may export what :mod:`app.access.exports`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

from app.core import tabular
from app.core.principal import Principal
from app.core.state import AppState
from app.core.uow import open_session
from app.exports.filters import Filters
from app.exports.kind import Kind
from app.exports.kinds import KIND_DEFS
from app.journal import audit

PAGE_SIZE = 500
FORMATS = ("ndjson", "csv", "xlsx")
MEDIA_TYPES = dict(tabular.MEDIA_TYPES)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def typed(value: Any) -> Any:
    """A view's JSON value as a spreadsheet wants it: RFC 3339 date-times and dates as such (the writer puts
    them in the service's time zone), everything else as it is."""
    if isinstance(value, str):
        if _DATE_TIME.match(value):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if _DATE.match(value):
            return date.fromisoformat(value)
    return value


def csv_chunk(rows: list[dict[str, Any]], columns: list[str], header: bool) -> bytes:
    """Rows of ``columns`` as CSV (the machine columns; cells as :func:`app.core.tabular.csv_cell`)."""
    cols = [tabular.Column(c) for c in columns]
    return (tabular.csv_header(cols, bom=False) if header else b"") + tabular.csv_rows(rows, cols)


def ndjson_chunk(rows: list[dict[str, Any]], columns: list[str] | None = None) -> bytes:
    if columns is not None:
        rows = [{c: r.get(c) for c in columns} for r in rows]
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows).encode()


async def _pages(
    state: AppState,
    principal: Principal,
    spec: Kind,
    fmt: str,
    filters: Filters,
    *,
    export_id: uuid.UUID,
    limit: int,
    reason: str | None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The export's pages: each read and redacted in a short read transaction (and, for people, given names
    in it), then audited in a short writing one (so SQLite's single write lock is held only for the audit
    rows), and only then yielded."""
    cursor: str | None = None
    for _ in range(10_000_000):  # bounded: one round per page
        async with open_session(state.sessionmaker, write=spec.writes) as session:
            rows, cursor, items = await spec.page(session, principal, filters, cursor, limit)
            if rows and fmt != "ndjson" and spec.people is not None:
                rows = [{k: typed(v) for k, v in row.items()} for row in await spec.people(session, rows)]
        if items:
            async with open_session(state.sessionmaker, write=True) as session:
                await audit.record_many(
                    session,
                    principal,
                    "export.read",
                    entity=spec.entity or "export",
                    items=items,
                    purpose=reason,
                    details={"export_id": str(export_id), "kind": spec.name},
                )
        if rows:
            yield rows
        if cursor is None:
            return


async def stream_export(
    state: AppState,
    principal: Principal,
    kind: str,
    fmt: str,
    filters: Filters,
    *,
    export_id: uuid.UUID,
    bom: bool = False,
    page_size: int | None = None,
    reason: str | None = None,
) -> AsyncIterator[bytes]:
    """The export's body, a page at a time: NDJSON records of the kind's fields; CSV (a header, then a chunk a
    page) or XLSX (:mod:`app.core.tabular`) of its spreadsheet columns with names."""
    spec = KIND_DEFS[kind]
    pages = _pages(
        state, principal, spec, fmt, filters, export_id=export_id, limit=page_size or PAGE_SIZE, reason=reason
    )
    if fmt == "ndjson":
        async for rows in pages:
            yield ndjson_chunk(rows, spec.fields())
        return
    async for chunk in tabular.stream_table(
        fmt, spec.sheet_columns(), pages, tz=state.settings.tz, bom=bom, sheet=kind
    ):
        yield chunk
