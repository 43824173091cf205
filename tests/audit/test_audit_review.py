"""Downloads carry a reason, which is audited; the monthly review flags what PIPA reviewers look for and
records the reviewer's sign-off (issue 13 item 20, docs/access.md#lifecycle-of-personal-data-pipa)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.uow import commit
from tests.support.factories import Factory, make_household, make_visit
from tests.support.world import District, audits, district

SEOUL = ZoneInfo("Asia/Seoul")
MONTH = "2026-06"
REPORT = "/v1/audit-reports/monthly"


async def test_an_export_needs_a_reason_in_a_header_and_the_reason_is_audited(
    factory: Factory, client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory)
    await make_visit(factory, household, [d.planner.user])
    r = await client.get("/v1/exports/visits", headers=d.coordinator.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "header.ongi-reason"
    r = await client.get("/v1/exports/visits", headers={**d.coordinator.headers, "Ongi-Reason": " x "})
    assert r.status_code == 422
    reason = "12월 방문 실적 보고"
    r = await client.get("/v1/exports/visits", headers={**d.coordinator.headers, "Ongi-Reason": quote(reason)})
    assert r.status_code == 200, r.text
    assert r.text.strip()
    export_id = r.headers["x-export-id"]
    start = await audits(maker, action="export.start", entity_id=export_id)
    assert [e.purpose for e in start] == [reason]
    sent = [e for e in await audits(maker, action="export.read") if e.details.get("export_id") == export_id]
    assert sent
    assert {e.purpose for e in sent} == {reason}
    # the reason never rides in the URL
    assert reason not in str(r.url)


def _rows(actor: Any, org: Any, at: datetime, n: int, action: str = "household.read", **kw: Any) -> list[dict]:
    return [
        {
            "id": uuid.uuid4(),
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "at": at + timedelta(seconds=i % 50),
            "actor_id": actor.id,
            "actor_role": actor.user.role.value,
            "organization_id": org.id,
            "action": action,
            "entity": "household",
            "entity_id": uuid.uuid4(),
            "household_id": uuid.uuid4(),
            "result": kw.get("result", "ok"),
            "details": kw.get("details", {}),
            "purpose": kw.get("purpose"),
        }
        for i in range(n)
    ]


async def _seed_month(maker: async_sessionmaker[AsyncSession], d: District) -> None:
    tuesday_10 = datetime(2026, 6, 2, 10, tzinfo=SEOUL)
    saturday_3 = datetime(2026, 6, 6, 3, tzinfo=SEOUL)
    rows: list[dict] = []
    for month in (3, 4, 5):  # the usual: 10 a month each
        at = datetime(2026, month, 10, 11, tzinfo=SEOUL)
        rows += _rows(d.coordinator, d.public, at, 10) + _rows(d.planner, d.public, at, 10)
    rows += _rows(d.coordinator, d.public, tuesday_10, 200)  # 20× the usual
    rows += _rows(d.planner, d.public, tuesday_10, 12)  # as usual
    rows += _rows(d.planner, d.public, saturday_3, 5)  # a Saturday night
    rows += _rows(d.coordinator, d.public, tuesday_10, 1, action="household.rrn.reveal", purpose="급여 확인")
    rows += _rows(d.planner, d.public, tuesday_10, 2, result="denied")
    rows += _rows(
        d.coordinator,
        d.public,
        tuesday_10,
        1000,
        action="export.read",
        purpose="전수 점검",
        details={"export_id": "e-large"},
    )
    rows += _rows(d.planner, d.public, tuesday_10, 20, action="export.read", details={"export_id": "e-small"})
    async with maker() as s:
        await s.execute(insert(AuditEvent.__table__), rows)
        await commit(s)


async def test_monthly_review_flags_what_reviewers_look_for(
    factory: Factory, client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    await _seed_month(maker, d)
    r = await client.get(REPORT, headers=d.admin.headers, params={"month": MONTH})
    assert r.status_code == 200, r.text
    report = r.json()
    flags = {(f["kind"], f["user_id"]): f for f in report["flags"]}
    coordinator, planner = str(d.coordinator.id), str(d.planner.id)
    spike = flags[("volume_spike", coordinator)]
    assert spike["baseline"] == 10
    assert spike["count"] >= 1200
    assert ("volume_spike", planner) not in flags  # 17 after 10, 10, 10: under the minimum and the factor
    assert flags[("off_hours", planner)]["count"] == 5
    assert ("off_hours", coordinator) not in flags  # Tuesday 10:00-11:00 in Seoul
    assert flags[("reveals", coordinator)]["count"] == 1
    assert flags[("denied", planner)]["count"] == 2
    large = flags[("large_export", coordinator)]
    assert (large["count"], large["export_id"], large["reason"]) == (1000, "e-large", "전수 점검")
    assert ("large_export", planner) not in flags
    assert report["flags"][0]["kind"] == "volume_spike"
    assert report["sign_off"] is None
    assert report["working_hours"]


async def test_the_reviewer_signs_a_month_off_once(
    factory: Factory, client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    await _seed_month(maker, d)
    url = f"{REPORT}/{MONTH}/sign-off"
    comment = {"comment": "검토함: 대량 내려받기는 전수 점검(공문 제2026-123호)으로 확인"}
    assert (await client.post(url, json=comment, headers=d.coordinator.headers)).status_code == 403
    assert (await client.post(url, json={"comment": ""}, headers=d.admin.headers)).status_code == 422
    this_month = datetime.now(SEOUL).strftime("%Y-%m")
    r = await client.post(f"{REPORT}/{this_month}/sign-off", json=comment, headers=d.admin.headers)
    assert r.status_code == 422, r.text
    r = await client.post(url, json=comment, headers=d.admin.headers)
    assert r.status_code == 201, r.text
    signed = r.json()
    assert (signed["signed_by_id"], signed["comment"], signed["month"]) == (str(d.admin.id), comment["comment"], MONTH)
    assert signed["flag_counts"]["volume_spike"] == 1
    assert signed["flag_counts"]["large_export"] == 1
    assert signed["signed_by_name"] == d.admin.user.display_name
    again = await client.post(url, json={"comment": "다시"}, headers=d.admin.headers)
    assert again.status_code == 409, again.text
    report = (await client.get(REPORT, headers=d.admin.headers, params={"month": MONTH})).json()
    assert report["sign_off"]["comment"] == comment["comment"]
    assert report["sign_off"]["signed_at"] == signed["signed_at"]
    assert [e.details["month"] for e in await audits(maker, action="audit.report.sign_off")] == [MONTH]
    other = await district(factory, "11110")
    report = (await client.get(REPORT, headers=other.admin.headers, params={"month": MONTH})).json()
    assert report["sign_off"] is None
    assert report["flags"] == []
