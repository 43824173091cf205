"""The campaign summary a division head reads (docs/winter.md): by district, dong (with names), source and the
dong × source table; identified / reached / unreachable / supported / in monitoring / deadlines missed; as JSON,
CSV or XLSX."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from openpyxl import load_workbook

from app.areas.service import set_area_names
from app.core.times import local_at, local_today
from app.core.uow import commit
from app.households.models import Household, HouseholdStatus
from tests.care.test_campaigns import _campaign
from tests.support.care import add_signal, coordinator_and_planner, set_columns
from tests.support.factories import Factory, make_household, make_visit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COUNTS = ("identified", "reached", "unreachable", "supported", "in_monitoring", "deadlines_missed")


def _pick(counts: dict[str, Any]) -> tuple[int, ...]:
    return tuple(counts[k] for k in COUNTS)


async def _world(client: httpx.AsyncClient, factory: Factory) -> tuple[Any, dict[str, Any], dict[str, Household]]:
    from app.winter.models import DeadlineNotice

    coordinator, planner = await coordinator_and_planner(factory)
    async with factory.maker() as s:
        await set_area_names(s, {"11990": "온기구", "1199051000": "햇살동", "1199052000": "누리동"})
        await commit(s)
    campaign = await _campaign(client, coordinator)
    in_period = local_at(local_today() - timedelta(days=2), 10)
    h = {
        "reached": await make_household(factory, dong_code="1199051000"),
        "unreachable": await make_household(factory, dong_code="1199051000"),
        "monitoring": await make_household(factory, dong_code="1199052000"),
        "overdue": await make_household(factory, dong_code="1199052000"),
    }
    await add_signal(factory, h["reached"], "bigdata", in_period)
    await add_signal(factory, h["unreachable"], "bigdata", in_period)
    await add_signal(factory, h["unreachable"], "honorary_official", in_period + timedelta(hours=1))
    await add_signal(factory, h["monitoring"], "resident_report", in_period)
    await add_signal(factory, h["overdue"], "bigdata", in_period)
    await set_columns(factory, Household, h["monitoring"].id, status=HouseholdStatus.monitoring)

    async def attempt(household: Household, method: str, outcome: str, hours: int) -> None:
        body = {"method": method, "outcome": outcome, "at": (in_period + timedelta(hours=hours)).isoformat()}
        r = await client.post(f"/v1/households/{household.id}/contact-attempts", json=body, headers=planner.headers)
        assert r.status_code == 201, r.text

    await attempt(h["reached"], "phone", "no_answer", 1)
    await attempt(h["reached"], "visit", "reached", 2)
    for hours, method in ((1, "phone"), (2, "visit"), (3, "phone")):
        await attempt(h["unreachable"], method, "no_answer", hours)
    # a visit of the overdue household whose clock (app.winter) went overdue in the period
    visit = await make_visit(factory, h["overdue"], [planner.user], window_start=in_period, window_end=in_period)
    async with factory.maker() as s:
        s.add(
            DeadlineNotice(entity="visit", entity_id=visit.id, state="overdue", due_at=in_period, rule="visit.window")
        )
        await commit(s)
    return coordinator, campaign, h


async def test_the_summary_by_district_dong_source_and_cells(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, campaign, _h = await _world(client, factory)
    r = await client.get(f"/v1/campaigns/{campaign['id']}/summary", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    summary = r.json()
    # identified, reached, unreachable, supported, in monitoring, deadlines missed
    assert _pick(summary["totals"]) == (4, 1, 1, 0, 1, 1)
    assert {k: summary["totals"][k] for k in ("visited", "monitored")} == {"visited": 0, "monitored": 0}
    assert [(d["district_code"], d["district_name"], _pick(d)) for d in summary["by_district"]] == [
        ("11990", "온기구", (4, 1, 1, 0, 1, 1))
    ]
    assert [(d["dong_code"], d["dong_name"], _pick(d)) for d in summary["by_dong"]] == [
        ("1199051000", "햇살동", (2, 1, 1, 0, 0, 0)),
        ("1199052000", "누리동", (2, 0, 0, 0, 1, 1)),
    ]
    assert {s["source"]: (s["source_label"], _pick(s)) for s in summary["by_source"]} == {
        "bigdata": ("빅데이터(단전·단수·체납 등)", (3, 1, 1, 0, 0, 1)),
        "honorary_official": ("명예사회복지공무원 제보", (1, 0, 1, 0, 0, 0)),
        "resident_report": ("주민 제보", (1, 0, 0, 0, 1, 0)),
    }
    cells = {(c["dong_code"], c["source"]): (c["dong_name"], _pick(c)) for c in summary["by_dong_source"]}
    assert cells == {
        ("1199051000", "bigdata"): ("햇살동", (2, 1, 1, 0, 0, 0)),
        ("1199051000", "honorary_official"): ("햇살동", (1, 0, 1, 0, 0, 0)),
        ("1199052000", "bigdata"): ("누리동", (1, 0, 0, 0, 0, 1)),
        ("1199052000", "resident_report"): ("누리동", (1, 0, 0, 0, 1, 0)),
    }
    # a dong without a stored name is shown by its code; English when asked
    r = await client.get(
        f"/v1/campaigns/{campaign['id']}/summary", headers={**coordinator.headers, "Accept-Language": "en"}
    )
    assert {s["source"]: s["source_label"] for s in r.json()["by_source"]}["resident_report"] == "Resident report"


async def test_the_summary_as_csv_and_xlsx(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, campaign, _h = await _world(client, factory)
    url = f"/v1/campaigns/{campaign['id']}/summary"

    r = await client.get(url, headers={**coordinator.headers, "Accept": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="ongi-campaign-summary-')
    assert r.content.startswith(b"\xef\xbb\xbf")  # Excel opens Korean right
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["구분 코드"] for row in rows][:4] == ["total", "district", "dong", "dong"]
    total = rows[0]
    assert (total["구분"], total["발굴"], total["연락두절"], total["처리기한 경과"]) == ("합계", "4", "1", "1")
    cell = next(row for row in rows if row["키"] == "1199052000:resident_report")
    assert (cell["행정동"], cell["발굴 경로"], cell["모니터링 중"]) == ("누리동", "주민 제보", "1")

    r = await client.get(url, params={"format": "xlsx"}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = values[0]
    assert header[:5] == ["구분 코드", "구분", "키", "시군구 코드", "시군구"]
    by_key = {row[2]: dict(zip(header, row, strict=False)) for row in values[1:]}
    assert by_key["1199051000"]["행정동"] == "햇살동"
    assert by_key["1199051000"]["발굴"] == 2

    # format wins over Accept; JSON stays the default
    r = await client.get(url, params={"format": "json"}, headers={**coordinator.headers, "Accept": "text/csv"})
    assert r.headers["content-type"].startswith("application/json")
    r = await client.get(url, headers={**coordinator.headers, "Accept": "application/json, text/csv;q=0.5"})
    assert r.headers["content-type"].startswith("application/json")
    r = await client.get(url, params={"format": "pdf"}, headers=coordinator.headers)
    assert r.status_code == 422


async def test_the_summary_document_names_both_tables(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    op = doc["paths"]["/v1/campaigns/{campaign_id}/summary"]["get"]
    assert {"application/json", "text/csv", XLSX} <= set(op["responses"]["200"]["content"])
    assert any(p["name"] == "format" for p in op["parameters"])
    counts = doc["components"]["schemas"]["SummaryCounts"]["properties"]
    assert set(COUNTS) <= set(counts)


async def test_admins_name_the_areas_of_their_jurisdiction(client: httpx.AsyncClient, factory: Factory) -> None:
    from app.core.principal import OrgKind, Role

    org = await factory.org(OrgKind.public, ["11990"])
    admin = await factory.actor(Role.admin, org)
    coordinator = await factory.actor(Role.coordinator, org)
    r = await client.put(
        "/v1/areas", json={"names": {"11990": "온기구", "1199053000": "다온동"}}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["saved"] == [{"code": "11990", "name": "온기구"}, {"code": "1199053000", "name": "다온동"}]
    r = await client.put("/v1/areas", json={"names": {"1199053000": "다온1동"}}, headers=admin.headers)
    assert r.json()["saved"] == [{"code": "1199053000", "name": "다온1동"}]
    outside = await client.put("/v1/areas", json={"names": {"1168051000": "남의동"}}, headers=admin.headers)
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "body.names.1168051000"
    assert (await client.put("/v1/areas", json={"names": {"12": "x"}}, headers=admin.headers)).status_code == 422
    assert (
        await client.put("/v1/areas", json={"names": {"11990": "x"}}, headers=coordinator.headers)
    ).status_code == 403
    listed = (await client.get("/v1/areas", headers=coordinator.headers)).json()["items"]
    assert {"code": "1199053000", "name": "다온1동"} in listed
    assert all(a["code"].startswith("11990") for a in listed)
    first = (await client.get("/v1/areas", params={"limit": 1}, headers=coordinator.headers)).json()
    rest = (
        await client.get(
            "/v1/areas", params={"limit": 500, "cursor": first["next_cursor"]}, headers=coordinator.headers
        )
    ).json()
    assert first["items"] + rest["items"] == listed
