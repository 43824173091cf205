"""Reading crisis lists from spreadsheets (CSV or XLSX), the way offices receive them: the command line
(:mod:`app.integrations.cli`) and ``POST /v1/integrations/imports`` read them here, row by row, into the import
lines ``POST /v1/integrations/households:bulk`` takes (the columns are described in :mod:`app.integrations.cli`).

Memory stays bounded: a CSV is read as a stream, an XLSX with openpyxl's read-only mode after a zip-bomb check
(:func:`check_xlsx`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any


class Unreadable(ValueError):
    """The file cannot be imported as it is (``code``: a problem slug; ``params`` for its message)."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code, self.params = code, params


#: Header aliases (normalized: lower case, no spaces, dashes or underscores) → field.
ALIASES: dict[str, str] = {
    "externalid": "external_id",
    "관리번호": "external_id",
    "연계번호": "external_id",
    "source": "source",
    "출처": "source",
    "indicators": "indicators",
    "위기지표": "indicators",
    "위기정보": "indicators",
    "observedat": "observed_at",
    "기준일": "observed_at",
    "발굴일": "observed_at",
    "roundendsat": "round_ends_at",
    "roundend": "round_ends_at",
    "회차종료일": "round_ends_at",
    "조사종료일": "round_ends_at",
    "districtcode": "district_code",
    "시군구코드": "district_code",
    "dongcode": "dong_code",
    "행정동코드": "dong_code",
    "address": "address",
    "주소": "address",
    "addressdetail": "address_detail",
    "상세주소": "address_detail",
    "headname": "head_name",
    "세대주": "head_name",
    "세대주명": "head_name",
    "성명": "head_name",
    "contactphone": "contact_phone",
    "연락처": "contact_phone",
    "전화번호": "contact_phone",
    "tags": "tags",
    "취약유형": "tags",
    "livingsituation": "living_situation",
    "생활실태": "living_situation",
    "members": "members",
    "가구원": "members",
}
HOUSEHOLD_FIELDS = (
    "district_code",
    "dong_code",
    "address",
    "address_detail",
    "head_name",
    "contact_phone",
    "tags",
    "living_situation",
    "members",
)
RESULT_COLUMNS = ("line", "external_id", "status", "household_id", "errors")
_SPLIT = re.compile(r"[,;|\s]+")


def _normalize_header(name: Any) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).lower()


def header_map(header: list[Any]) -> list[str | None]:
    """For each column, the field it fills (``details.<name>`` for detail columns, None to ignore)."""
    out: list[str | None] = []
    for raw in header:
        text = str(raw or "").strip()
        lowered = text.lower()
        for prefix in ("details.", "상세."):
            if lowered.startswith(prefix) and len(text) > len(prefix):
                out.append("details." + text[len(prefix) :].strip())
                break
        else:
            out.append(ALIASES.get(_normalize_header(text)))
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number: 1199051000.0
    text = str(value).strip()
    return text or None


def _observed(value: Any, tz: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=tz).isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}", text):
        y, m, d = (int(p) for p in re.split(r"[-./]", text))
        return datetime(y, m, d, tzinfo=tz).isoformat()
    if re.fullmatch(r"\d{8}", text):  # 20261101
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:]), tzinfo=tz).isoformat()
    return text  # an RFC 3339 date-time, or something the validation will name


def row_to_line(fields: list[str | None], values: list[Any], tz: Any) -> dict[str, Any]:
    """One spreadsheet row as an import line (what ``POST …:bulk`` takes as one NDJSON line)."""
    line: dict[str, Any] = {}
    household: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name, value in zip(fields, values, strict=False):
        if name is None:
            continue
        if name.startswith("details."):
            if value not in (None, ""):
                details[name[len("details.") :]] = value if isinstance(value, int | float | bool) else _text(value)
            continue
        if name in ("observed_at", "round_ends_at"):
            moment = _observed(value, tz)
            if moment:
                line[name] = moment
            continue
        text = _text(value)
        if text is None:
            continue
        if name in ("indicators", "tags"):
            parts = [p for p in _SPLIT.split(text) if p]
            (line if name == "indicators" else household)[name] = parts
        elif name == "members":
            try:
                household["members"] = json.loads(text)
            except ValueError:
                household["members"] = text  # the validation names it
        elif name in HOUSEHOLD_FIELDS:
            household[name] = text
        else:
            line[name] = text
    if "district_code" not in household and isinstance(household.get("dong_code"), str):
        household["district_code"] = household["dong_code"][:5]
    if details:
        line["details"] = details
    line["household"] = household
    return line


# --- readers ---------------------------------------------------------------------------------------------------


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else CP949 (what Korean Excel writes)."""
    with path.open("rb") as fh:
        head = fh.read(256 * 1024)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "cp949"
    return "utf-8-sig"


#: Default bound on an XLSX file's decompressed size (the setting ``import_xlsx_max_uncompressed_mib``).
XLSX_MAX_UNCOMPRESSED = 64 * 1024 * 1024
#: Most parts an XLSX file may hold (a workbook of a few sheets has a few dozen).
XLSX_MAX_PARTS = 10_000


def check_xlsx(path: Path, max_uncompressed: int = XLSX_MAX_UNCOMPRESSED) -> None:
    """Refuse a zip bomb before openpyxl opens it: the parts' sizes as the zip declares them must add up to no
    more than ``max_uncompressed``. Python's zip reader never inflates a part past its declared size (a part
    that tries fails its check), so the declared sizes bound what the parse can take."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise Unreadable("unreadable-file", "not a readable .xlsx file") from exc
    total = sum(part.file_size for part in parts)
    if len(parts) > XLSX_MAX_PARTS or total > max_uncompressed:
        raise Unreadable(
            "xlsx-too-large",
            f"the workbook unpacks to {total / 2**20:.0f} MiB in {len(parts)} parts; "
            f"at most {max_uncompressed / 2**20:.0f} MiB is read (ONGI_IMPORT_XLSX_MAX_UNCOMPRESSED_MIB)",
            total_mib=round(total / 2**20),
            limit_mib=round(max_uncompressed / 2**20),
        )


class Rows(Iterator[tuple[int, list[Any]]]):
    """Numbered data rows of an open spreadsheet; :meth:`close` (or the end of the rows) closes the file."""

    def __init__(self, rows: Iterator[tuple[int, list[Any]]], close: Any) -> None:
        self._rows, self._close = rows, close

    def __next__(self) -> tuple[int, list[Any]]:
        try:
            return next(self._rows)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_rows(
    path: Path, sheet: str | None = None, *, max_uncompressed: int = XLSX_MAX_UNCOMPRESSED, fmt: str | None = None
) -> tuple[list[Any], Rows, int | None]:
    """(header, numbered data rows (row numbers as the spreadsheet shows them), row count if known). ``fmt``
    (``csv`` or ``xlsx``) when the file's name does not say. Close the rows when not reading them to the end."""
    if fmt == "xlsx" or (fmt is None and path.suffix.lower() in (".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        check_xlsx(path, max_uncompressed)
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            ws = workbook[sheet] if sheet else workbook.worksheets[0]
            cells = ws.iter_rows(values_only=True)
            header = list(next(cells, ()) or ())
            total = ws.max_row - 1 if ws.max_row else None
        except BaseException:
            workbook.close()
            raise

        def xlsx_rows() -> Iterator[tuple[int, list[Any]]]:
            for number, row in enumerate(cells, start=2):
                values = list(row)
                if any(v not in (None, "") for v in values):
                    yield number, values

        return header, Rows(xlsx_rows(), workbook.close), total
    encoding = _csv_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        total = max(sum(1 for _ in fh) - 1, 0)
    fh = path.open(encoding=encoding, newline="")
    try:
        reader = csv.reader(fh)
        header = next(reader, [])
    except BaseException:
        fh.close()
        raise

    def csv_rows() -> Iterator[tuple[int, list[Any]]]:
        for values in reader:
            if any(v.strip() for v in values):
                yield reader.line_num, values

    return header, Rows(csv_rows(), fh.close), total


async def lines_from(rows: Iterator[tuple[int, list[Any]]], fields: list[str | None], tz: Any) -> AsyncIterator[Any]:
    """Rows as numbered import lines, read in a worker thread a few hundred at a time."""
    import anyio.to_thread

    def take() -> list[tuple[int, dict[str, Any]]]:
        out = []
        for number, values in rows:
            out.append((number, row_to_line(fields, values, tz)))
            if len(out) >= 200:
                break
        return out

    while True:
        chunk = await anyio.to_thread.run_sync(take)
        if not chunk:
            return
        for item in chunk:
            yield item
