"""Tables people open in a spreadsheet (app/exports/tabular.py): CSV with BOM, XLSX, negotiation, injection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from app.core.errors import Problem
from app.exports.tabular import Column, content_disposition, negotiate, stream_table

SEOUL = ZoneInfo("Asia/Seoul")
COLUMNS = [Column("name", "이름"), Column("n", "건수"), Column("at", "시각"), Column("tags", "태그"), Column("ok")]


async def _body(fmt: str, pages: Any, **kw: Any) -> bytes:
    return b"".join([chunk async for chunk in stream_table(fmt, COLUMNS, pages, tz=SEOUL, **kw)])


def _rows() -> list[list[dict[str, Any]]]:
    at = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    return [
        [{"name": "김온기", "n": 3, "at": at, "tags": ["독거", "한파"], "ok": True}],
        [],
        [{"name": '=HYPERLINK("http://x")', "n": None, "at": None, "tags": [], "ok": False, "extra": "x"}],
        [{"name": "-12", "n": 1.5, "at": date(2026, 12, 2), "tags": {"a": 1}, "ok": None}],
    ]


async def test_csv_starts_with_a_bom_and_neutralises_formulas() -> None:
    body = await _body("csv", _rows())
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body[3:].decode())))
    assert rows[0] == ["이름", "건수", "시각", "태그", "ok"]
    assert rows[1] == ["김온기", "3", "2026-12-02T00:30:00+09:00", "독거;한파", "true"]
    assert rows[2][0] == '\'=HYPERLINK("http://x")'
    assert rows[2][1:] == ["", "", "", "false"]
    assert rows[3][0] == "-12"  # a number stays a number
    assert rows[3][3] == '{"a":1}'
    assert len(rows) == 4
    assert b"\r\n" in body
    assert not (await _body("csv", [], bom=False)).startswith(b"\xef\xbb\xbf")


async def test_xlsx_is_a_workbook_with_typed_cells_and_no_formulas() -> None:
    async def pages() -> Any:
        for page in _rows():
            yield page

    body = await _body("xlsx", pages(), sheet="가구/목록")
    assert body[:2] == b"PK"
    wb = load_workbook(io.BytesIO(body))
    ws = wb.active
    assert ws.title == "가구 목록"
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == ["이름", "건수", "시각", "태그", "ok"]
    assert values[1] == ["김온기", 3, datetime(2026, 12, 2, 0, 30), "독거;한파", True]
    formula_row = list(ws.iter_rows())[2]
    assert formula_row[0].value == '=HYPERLINK("http://x")'
    assert formula_row[0].data_type == "s"  # text, never run as a formula
    assert values[3][0] == "-12"
    assert values[3][1] == 1.5
    assert len(values) == 4


async def test_xlsx_many_rows_stream_in_chunks() -> None:
    pages = [[{"name": f"가구 {i}-{j}", "n": i * 1000 + j} for j in range(1000)] for i in range(20)]
    chunks = [c async for c in stream_table("xlsx", COLUMNS, pages)]
    assert len(chunks) > 1
    assert max(len(c) for c in chunks) <= 64 * 1024
    ws = load_workbook(io.BytesIO(b"".join(chunks)), read_only=True).active
    assert sum(1 for _ in ws.iter_rows()) == 20_001


@pytest.mark.parametrize(
    ("fmt", "accept", "expected"),
    [
        (None, None, "csv"),
        (None, "", "csv"),
        (None, "*/*", "csv"),
        (None, "text/csv", "csv"),
        (None, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        (None, "text/csv;q=0.5, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        (None, "application/*, text/csv;q=0.2", "xlsx"),
        (None, "text/*", "csv"),
        (None, "text/html, */*;q=0.8", "csv"),
        ("xlsx", "text/csv", "xlsx"),  # format= wins
    ],
)
def test_negotiation(fmt: str | None, accept: str | None, expected: str) -> None:
    assert negotiate(fmt, accept) == expected


@pytest.mark.parametrize(("fmt", "accept"), [(None, "text/html"), (None, "text/csv;q=0, image/*"), ("pdf", None)])
def test_negotiation_refuses_what_is_not_offered(fmt: str | None, accept: str | None) -> None:
    with pytest.raises(Problem) as err:
        negotiate(fmt, accept)
    assert err.value.status == 406


def test_content_disposition_keeps_korean_names() -> None:
    assert content_disposition("ongi.csv") == 'attachment; filename="ongi.csv"'
    value = content_disposition("온기-가구.xlsx")
    assert value.startswith('attachment; filename="')
    assert "filename*=UTF-8''%EC%98%A8" in value
