"""Tables people open in a spreadsheet (app/core/tabular.py): CSV with BOM, XLSX, negotiation, injection."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from app.core.errors import Problem
from app.core.tabular import Column, content_disposition, negotiate, stream_table

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
    assert rows[1] == ["김온기", "3", "2026-12-02 00:30:00", "독거;한파", "true"]
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


# --- the exports people open in a spreadsheet (GET /v1/exports/{kind}, issue 18 item 6) ----------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REASON = {"Ongi-Reason": "%EA%B2%A8%EC%9A%B8%EC%B2%A0%20%EC%A0%90%EA%B2%80"}  # "겨울철 점검", percent-encoded


def _sheet(body: bytes) -> list[dict[str, Any]]:
    ws = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


async def _export(client: Any, actor: Any, kind: str, **params: Any) -> Any:
    headers = {**actor.headers, **REASON, **params.pop("headers", {})}
    return await client.get(f"/v1/exports/{kind}", headers=headers, params=params)


async def test_households_export_is_redacted_named_and_audited(client: Any, factory: Any, maker: Any) -> None:
    from sqlalchemy import select

    from app.areas.service import set_area_names
    from app.audit.models import AuditEvent
    from app.core.uow import commit
    from tests.support.world import district, household_body

    d = await district(factory)
    async with maker() as s:
        await set_area_names(s, {"1199051000": "온기1동", "11990": "온기구"})
        await commit(s)
    secret_income = "월 소득 37만원(일용직)"
    r = await client.post(
        "/v1/households",
        json=household_body(
            head_name="김겨울",
            sensitive={"income": secret_income, "members": [{"key": "m1", "rrn": "480101-1234567"}]},
        ),
        headers=d.coordinator.headers,
    )
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    elsewhere = await client.post(
        "/v1/households", json=household_body(dong="1111051000"), headers=d.coordinator.headers
    )
    assert elsewhere.status_code in (201, 404, 422)  # another district: never exported to this caller

    r = await _export(client, d.coordinator, "households", format="xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].startswith('attachment; filename="ongi-households-')
    assert r.headers["content-disposition"].endswith('.xlsx"')
    rows = _sheet(r.content)
    [mine] = [row for row in rows if row["가구 ID"] == hid]
    assert mine["세대주"] == "김겨울"
    assert mine["행정동"] == "온기1동"  # the dong's name, not only its code
    assert mine["행정동 코드"] == "1199051000"
    assert mine["가구원 수"] == 1
    assert mine["담당 코디네이터"] == d.coordinator.user.display_name
    assert all(row["행정동 코드"].startswith("11990") for row in rows)
    flat = r.content + (await _export(client, d.coordinator, "households", format="csv")).content
    assert b"480101" not in flat
    assert secret_income.encode() not in flat  # never a sensitive field in a list, nor in an export

    ndjson = await _export(client, d.integration, "households")
    assert ndjson.status_code == 200, ndjson.text
    records = [json.loads(line) for line in ndjson.text.splitlines()]
    assert hid in {rec["id"] for rec in records}
    assert all("sensitive" not in rec for rec in records)

    # a client needs households:read; partners and planners never export; a reason is required
    from tests.support.integrations import integration_client

    narrow = await integration_client(factory, ["exports:read", "visits:read"], org=d.public)
    assert (await _export(client, narrow, "households")).status_code == 403
    assert (await _export(client, d.partner, "households")).status_code == 403
    assert (await _export(client, d.planner, "households")).status_code == 403
    no_reason = await client.get("/v1/exports/households", headers=d.coordinator.headers)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "header.ongi-reason"

    async with maker() as s:
        starts = list(
            (
                await s.execute(
                    select(AuditEvent).where(
                        AuditEvent.action == "export.start", AuditEvent.actor_id == d.coordinator.id
                    )
                )
            ).scalars()
        )
        reads = list(
            (
                await s.execute(
                    select(AuditEvent).where(
                        AuditEvent.action == "export.read",
                        AuditEvent.entity == "household",
                        AuditEvent.household_id == uuid.UUID(hid),
                    )
                )
            ).scalars()
        )
    assert [(a.details["kind"], a.details["format"], a.purpose) for a in starts] == [
        ("households", "xlsx", "겨울철 점검"),
        ("households", "csv", "겨울철 점검"),
    ]
    assert len(reads) == 3  # the coordinator's two downloads and the client's


async def test_visits_and_supports_as_xlsx_with_names(client: Any, factory: Any, maker: Any) -> None:
    from app.areas.service import set_area_names
    from app.core.uow import commit
    from tests.support.care import coordinator_and_planner, make_resource, propose
    from tests.support.factories import make_visit
    from tests.work.test_workload import make_household

    coordinator, planner = await coordinator_and_planner(factory)
    async with maker() as s:
        await set_area_names(s, {"1199051000": "온기1동"})
        await commit(s)
    home = await make_household(factory, "1199051000")
    visit = await make_visit(factory, home, [planner.user], outcome="=1+1")
    resource = await make_resource(client, coordinator, name="에너지바우처", category="energy_voucher")
    r = await propose(client, planner, home.id, resource["id"], amount=310_000)
    assert r.status_code == 201, r.text

    r = await _export(client, coordinator, "visits", headers={"Accept": XLSX})
    assert r.status_code == 200, r.text
    [row] = [x for x in _sheet(r.content) if x["방문 ID"] == str(visit.id)]
    assert row["행정동"] == "온기1동"
    assert row["담당자"] == planner.user.display_name
    assert row["주 담당자"] == planner.user.display_name
    assert row["기관"] == planner.org.name
    assert row["결과"] == "=1+1"  # text, never a formula
    ws = load_workbook(io.BytesIO(r.content)).active
    assert all(c.data_type != "f" for row_ in ws.iter_rows() for c in row_)
    assert isinstance(row["방문 시작"], datetime)  # a date-time cell, in the service's time zone

    r = await _export(client, coordinator, "supports", format="xlsx", headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    [row] = [x for x in _sheet(r.content) if x["Household ID"] == str(home.id)]
    assert row["Resource"] == "에너지바우처"
    assert row["Provider"] == coordinator.org.name
    assert row["Proposed by"] == planner.user.display_name
    assert row["Amount (KRW)"] == 310_000
    assert row["Dong"] == "온기1동"
    assert str(planner.id) not in json.dumps([str(v) for v in row.values()])


async def test_campaign_summaries_as_xlsx(client: Any, factory: Any, maker: Any) -> None:
    from app.campaigns.models import Campaign
    from app.core.db import utcnow
    from app.core.uow import commit
    from tests.support.care import coordinator_and_planner

    coordinator, _planner = await coordinator_and_planner(factory)
    today = utcnow().date()
    async with maker() as s:
        campaign = Campaign(
            name="겨울철 집중 발굴",
            starts_on=today,
            ends_on=today + timedelta(days=30),
            district_codes=["11990"],
            organization_id=coordinator.org.id,
        )
        s.add(campaign)
        await commit(s)
    r = await _export(client, coordinator, "campaign-summaries", format="xlsx", campaign_id=str(campaign.id))
    assert r.status_code == 200, r.text
    rows = _sheet(r.content)
    assert rows
    assert {row["캠페인"] for row in rows} == {"겨울철 집중 발굴"}
    assert {row["캠페인 ID"] for row in rows} == {str(campaign.id)}
    assert "발굴" in rows[0]
