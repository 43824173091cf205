"""One writer for tables people open in a spreadsheet: rows as CSV or XLSX, streamed, memory bounded.

Every download that is a table (exports, import results, summaries) goes through here, so that they all
look alike and are equally safe:

- **CSV** is UTF-8 with a byte order mark by default (Excel opens Korean text right only with it), CRLF line
  ends (RFC 4180), a header row, and one row per record.
- **XLSX** is written by openpyxl in write-only mode: rows go to a temporary file as they come, the workbook
  is zipped into a spooled temporary file (in memory up to 1 MiB, then on disk) and sent in 64 KiB chunks. The
  CPU work runs in a worker thread, a page at a time, so the event loop keeps serving.
- A text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is neutralised: in CSV
  it is prefixed with ``'`` (OWASP's CSV injection advice); in XLSX it is stored as a string cell, never a
  formula. Characters XML cannot carry are dropped from XLSX cells.
- Lists of scalars are joined with ``;``, other structures become compact JSON; ``None`` is an empty cell;
  booleans are ``true``/``false`` in CSV and real booleans in XLSX; date-times are written in the service's
  time zone, to the second (``2026-12-02 09:30:00`` in CSV, which spreadsheets read as a date-time; a date-time
  cell in XLSX), without an offset since spreadsheets have none.

``negotiate`` picks the format from ``?format=`` (which wins) or ``Accept`` (q-values, wildcards), and
``table_response`` builds the ``StreamingResponse`` with the right media type, an attachment file name and
``Cache-Control: no-store``.

Usage::

    columns = [Column("dong_name", "동"), Column("count", "건수")]
    fmt = negotiate(format, request.headers.get("accept"))
    return table_response(fmt, columns, pages(), filename="ongi-workload", tz=state.settings.tz)

where ``pages()`` is an async iterator of lists of mappings (one list per page read from the database).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any

import anyio.to_thread
from fastapi.responses import StreamingResponse

from app.core.errors import Problem

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NDJSON_MEDIA_TYPE = "application/x-ndjson"
MEDIA_TYPES = {"csv": CSV_MEDIA_TYPE, "xlsx": XLSX_MEDIA_TYPE, "ndjson": NDJSON_MEDIA_TYPE}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "ndjson": "ndjson"}
BOM = b"\xef\xbb\xbf"
CHUNK = 64 * 1024
#: Accept media ranges → format. ``*/*`` and the partial wildcards fall to the caller's default/first offer.
_ACCEPT_FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    XLSX_MEDIA_TYPE: "xlsx",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json": "ndjson",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """A column: the row key it reads and the title of its header cell (the key when not given)."""

    key: str
    title: str | None = None

    @property
    def header(self) -> str:
        return self.title or self.key


def columns_of(spec: Sequence[str | Column | tuple[str, str]]) -> list[Column]:
    """Columns from keys, ``(key, title)`` pairs or ``Column`` objects."""
    out = []
    for item in spec:
        if isinstance(item, Column):
            out.append(item)
        elif isinstance(item, tuple):
            out.append(Column(item[0], item[1]))
        else:
            out.append(Column(item))
    return out


# --- negotiation -----------------------------------------------------------------------------------------------


def negotiate(
    fmt: str | None,
    accept: str | None,
    *,
    offers: Sequence[str] = ("csv", "xlsx"),
    default: str | None = None,
) -> str:
    """The format to send: ``fmt`` (``?format=``) if given, else the best of ``offers`` that ``Accept`` names
    (highest q, then the more specific range, then the order of ``offers``), else ``default`` (the first offer).
    A ``fmt`` not offered, or an ``Accept`` that excludes every offer, is a 406 problem."""
    default = default or offers[0]
    if fmt is not None:
        if fmt not in offers:
            raise Problem(406, "not-acceptable", "tabular.not-acceptable", params={"formats": ", ".join(offers)})
        return fmt
    if not accept or not accept.strip():
        return default
    # per offer: (q, specificity) of the most specific range that matches it (RFC 9110 §12.5.1)
    scores: dict[str, tuple[int, float]] = {}
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        if not media:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value)))
                except ValueError:
                    q = 0.0
        for offer in offers:
            if media == "*/*":
                specificity = 0
            elif media.endswith("/*"):
                if MEDIA_TYPES[offer].split("/", 1)[0] != media[:-2]:
                    continue
                specificity = 1
            elif _ACCEPT_FORMATS.get(media) == offer:
                specificity = 2
            else:
                continue
            if offer not in scores or specificity > scores[offer][0]:
                scores[offer] = (specificity, q)
    # highest q wins; among equals the caller's default, then the order of the offers
    ranked = [(q, o == default, -offers.index(o), o) for o, (_, q) in scores.items() if q > 0]
    if not ranked:
        raise Problem(406, "not-acceptable", "tabular.not-acceptable", params={"formats": ", ".join(offers)})
    return max(ranked)[3]


# --- cells -----------------------------------------------------------------------------------------------------


def _local(value: datetime, tz: tzinfo | None) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(tz) if tz is not None else value


def csv_cell(value: Any, tz: tzinfo | None = None) -> Any:
    """One CSV cell (see the module's rules)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        # local wall-clock time to the second, which spreadsheets read as a date-time (the zone is the service's)
        return _local(value, tz).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, list | tuple) and all(not isinstance(v, dict | list | tuple) for v in value):
        value = ";".join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict | list | tuple):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, tz: tzinfo | None = None) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(row.get(c.key), tz) for c in columns])
    return buf.getvalue().encode()


def csv_header(columns: Sequence[Column], *, bom: bool = True) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([c.header for c in columns])
    return (BOM if bom else b"") + buf.getvalue().encode()


def xlsx_value(value: Any, tz: tzinfo | None = None) -> tuple[Any, bool]:
    """The value of one XLSX cell and whether it must be stored as text (never as a formula)."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value, False
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        return _local(value, tz).replace(tzinfo=None, microsecond=0), False
    if isinstance(value, date):
        return value, False
    if isinstance(value, uuid.UUID):
        return str(value), True
    if isinstance(value, list | tuple) and all(not isinstance(v, dict | list | tuple) for v in value):
        value = ";".join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict | list | tuple):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return _xml_safe(str(value))[:32767], True  # Excel's limit of one cell


# --- writers ---------------------------------------------------------------------------------------------------


class XlsxWriter:
    """A write-only workbook of one sheet: ``append`` rows (in a thread), then ``chunks`` of the file."""

    def __init__(self, columns: Sequence[Column], *, sheet: str = "data", tz: tzinfo | None = None) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        self._cell_class = WriteOnlyCell
        self.columns = list(columns)
        self.tz = tz
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title=_sheet_title(sheet))
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for c in self.columns:
            cell = WriteOnlyCell(self.sheet, value=_xml_safe(c.header))
            cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            cells = []
            for c in self.columns:
                value, as_text = xlsx_value(row.get(c.key), self.tz)
                cell = self._cell_class(self.sheet, value=value)
                if as_text:
                    cell.data_type = "s"
                cells.append(cell)
            self.sheet.append(cells)

    def save(self) -> Any:
        """The finished workbook as a file positioned at its start (the caller closes it)."""
        out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed by the caller
        self.workbook.save(out)
        out.seek(0)
        return out


def _xml_safe(text: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("", text))  # openpyxl has no type hints


def _sheet_title(name: str) -> str:
    """A worksheet title Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in name).strip() or "data"
    return cleaned[:31]


async def _aiter(pages: AsyncIterable[Sequence[Mapping[str, Any]]] | Iterable[Sequence[Mapping[str, Any]]]) -> Any:
    if hasattr(pages, "__aiter__"):
        async for page in pages:
            yield page
    else:
        for page in pages:
            yield page


async def stream_table(
    fmt: str,
    columns: Sequence[str | Column | tuple[str, str]],
    pages: AsyncIterable[Sequence[Mapping[str, Any]]] | Iterable[Sequence[Mapping[str, Any]]],
    *,
    tz: tzinfo | None = None,
    bom: bool = True,
    sheet: str = "data",
) -> AsyncIterator[bytes]:
    """The body of a table download: CSV a page at a time; XLSX once every page is in (bounded memory)."""
    cols = columns_of(columns)
    if fmt == "csv":
        yield csv_header(cols, bom=bom)
        async for page in _aiter(pages):
            if page:
                yield csv_rows(page, cols, tz=tz)
        return
    if fmt == "ndjson":
        async for page in _aiter(pages):
            if page:
                yield "".join(
                    json.dumps({c.key: row.get(c.key) for c in cols}, ensure_ascii=False, default=str) + "\n"
                    for row in page
                ).encode()
        return
    if fmt != "xlsx":
        raise ValueError(f"unknown table format {fmt!r}")
    writer = await anyio.to_thread.run_sync(lambda: XlsxWriter(cols, sheet=sheet, tz=tz))
    async for page in _aiter(pages):
        if page:
            rows = list(page)
            await anyio.to_thread.run_sync(writer.append, rows)
    out = await anyio.to_thread.run_sync(writer.save)
    try:
        while chunk := await anyio.to_thread.run_sync(out.read, CHUNK):
            yield chunk
    finally:
        out.close()


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 8187)."""
    from urllib.parse import quote

    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def table_response(
    fmt: str,
    columns: Sequence[str | Column | tuple[str, str]],
    pages: AsyncIterable[Sequence[Mapping[str, Any]]] | Iterable[Sequence[Mapping[str, Any]]],
    *,
    filename: str,
    tz: tzinfo | None = None,
    bom: bool = True,
    sheet: str = "data",
    headers: Mapping[str, str] | None = None,
) -> StreamingResponse:
    """A streaming download of the table: ``filename`` without extension (it is added per format)."""
    return StreamingResponse(
        stream_table(fmt, columns, pages, tz=tz, bom=bom, sheet=sheet),
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": content_disposition(f"{filename}.{EXTENSIONS[fmt]}"),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        },
    )


#: For an endpoint's ``responses=``: the 200 of a table download.
TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A table with a header row: CSV (UTF-8 with BOM) or XLSX",
        "content": {CSV_MEDIA_TYPE.split(";")[0]: {}, XLSX_MEDIA_TYPE: {}},
    },
    406: {"description": "Neither format= nor Accept names a format offered"},
}
