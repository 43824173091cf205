"""Crisis reports: reporters create and follow their own; coordinators triage into a household or dismiss;
the reporter never sees the household (docs/data-model.md)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.principal import Role
from app.households.models import Household, HouseholdStatus, Signal
from tests.support.factories import Factory, make_household
from tests.support.world import DONG_A, DONG_B, District, district, events


def report_body(**kw: Any) -> dict[str, Any]:
    body = {
        "observation": "우편물이 쌓여 있고 며칠째 인기척이 없습니다.",
        "address": "온기로 5길 3",
        "district_code": "11990",
        "dong_code": DONG_A,
        "subject_name": "최고독",
        "indicators": ["isolation", "heating_lack"],
    }
    body.update(kw)
    return body


async def _report(client: httpx.AsyncClient, d: District, **kw: Any) -> dict[str, Any]:
    r = await client.post("/v1/reports", headers=d.reporter.headers, json=report_body(**kw))
    assert r.status_code == 201, r.text
    return r.json()


async def test_reporters_create_and_see_only_their_own(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    other = await district(factory, "11110")
    mine = await _report(client, d)
    assert mine["view"] == "reporter"
    assert mine["status"] == "new"
    assert "household_id" not in mine
    assert "reporter_id" not in mine
    assert mine["outcome_message"]
    theirs = await _report(client, other, district_code="11110", dong_code=DONG_B)
    colleague = await factory.actor(Role.reporter, d.reporters)

    listed = await client.get("/v1/reports", headers=d.reporter.headers)
    assert [r["id"] for r in listed.json()["items"]] == [mine["id"]]
    assert (await client.get(f"/v1/reports/{theirs['id']}", headers=d.reporter.headers)).status_code == 404
    assert (await client.get(f"/v1/reports/{mine['id']}", headers=colleague.headers)).status_code == 404
    assert (await client.get("/v1/reports", headers=colleague.headers)).json()["items"] == []

    outside = await client.post(
        "/v1/reports", headers=d.reporter.headers, json=report_body(district_code="11110", dong_code=DONG_B)
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "body.dong_code"
    assert (
        await client.post("/v1/reports", headers=d.reporter.headers, json=report_body(indicators=["bad"]))
    ).status_code == 422
    for actor in (d.coordinator, d.planner, d.partner, d.admin):
        assert (await client.post("/v1/reports", headers=actor.headers, json=report_body())).status_code == 403

    staff = await client.get("/v1/reports", headers=d.coordinator.headers)
    assert [r["id"] for r in staff.json()["items"]] == [mine["id"]]
    assert staff.json()["items"][0]["view"] == "staff"
    assert staff.json()["items"][0]["reporter_id"] == str(d.reporter.id)
    assert (await client.get("/v1/reports", headers=d.planner.headers)).status_code == 200
    assert (await client.get("/v1/reports", headers=d.partner.headers)).status_code == 403
    assert (await client.get(f"/v1/reports/{mine['id']}", headers=other.coordinator.headers)).status_code == 404


async def test_triage_into_a_new_household(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    report = await _report(client, d, source="resident_report")
    url = f"/v1/reports/{report['id']}/triage"
    assert (
        await client.post(url, headers=d.planner.headers, json={"decision": "dismiss", "reason": "x"})
    ).status_code == 403
    r = await client.post(
        url, headers=d.coordinator.headers, json={"decision": "household", "message": "확인 후 방문하겠습니다."}
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["outcome"] == "created"
    assert result["report"]["status"] == "triaged"
    household_id = result["household"]["id"]
    assert result["report"]["household_id"] == household_id
    async with maker() as s:
        household = await s.get(Household, uuid.UUID(household_id))
        signals = list(
            (await s.execute(select(Signal).where(Signal.household_id == uuid.UUID(household_id)))).scalars()
        )
    assert household is not None
    assert household.head_name == "최고독"
    assert household.coordinator_id == d.coordinator.id
    assert [(s.source.value, s.indicators, s.external_ref) for s in signals] == [
        ("resident_report", ["isolation", "heating_lack"], f"report:{report['id']}")
    ]
    triaged = await events(maker, "report.triaged")
    assert [e.payload["report_id"] for e in triaged] == [report["id"]]
    assert triaged[0].payload["household_id"] == household_id

    # the reporter sees the outcome, never the household
    seen = await client.get(f"/v1/reports/{report['id']}", headers=d.reporter.headers)
    assert seen.status_code == 200
    assert seen.json()["status"] == "triaged"
    assert seen.json()["outcome_message"] == "확인 후 방문하겠습니다."
    assert household_id not in seen.text
    assert "household" not in seen.text
    listed = await client.get("/v1/reports", headers=d.reporter.headers)
    assert household_id not in listed.text
    assert "household" not in listed.text
    assert (await client.get(f"/v1/households/{household_id}", headers=d.reporter.headers)).status_code == 403

    again = await client.post(url, headers=d.coordinator.headers, json={"decision": "dismiss", "reason": "중복"})
    assert again.status_code == 409


async def test_triage_matches_an_existing_household_and_reopens_closed_ones(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    created = await client.post(
        "/v1/households",
        headers=d.coordinator.headers,
        json={"district_code": "11990", "dong_code": DONG_A, "address": "온기로 5길 3", "head_name": "최 고독"},
    )
    hid = created.json()["id"]
    report = await _report(client, d, address="온기로5길 3", subject_name="최고독")
    staff = await client.get(f"/v1/reports/{report['id']}", headers=d.coordinator.headers)
    assert staff.json()["suggested_household_id"] == hid
    r = await client.post(
        f"/v1/reports/{report['id']}/triage", headers=d.coordinator.headers, json={"decision": "household"}
    )
    assert r.json()["outcome"] == "matched"
    assert r.json()["household"]["id"] == hid

    await client.patch(f"/v1/households/{hid}", headers=d.coordinator.headers, json={"status": "closed"})
    second = await _report(client, d, address="온기로 5길 3", subject_name="최고독")
    r = await client.post(
        f"/v1/reports/{second['id']}/triage", headers=d.coordinator.headers, json={"decision": "household"}
    )
    assert r.json()["outcome"] == "reopened"
    async with maker() as s:
        household = await s.get(Household, uuid.UUID(hid))
    assert household is not None
    assert household.status == HouseholdStatus.identified
    assert household.recurrence_count == 1
    assert len(await events(maker, "household.recurrence", hid)) == 1

    # create_new ignores the match; household_id links explicitly
    third = await _report(client, d)
    forced = await client.post(
        f"/v1/reports/{third['id']}/triage",
        headers=d.coordinator.headers,
        json={"decision": "household", "create_new": True, "household": {"address_detail": "지하 1층"}},
    )
    assert forced.json()["outcome"] == "created"
    assert forced.json()["household"]["id"] != hid
    fourth = await _report(client, d, subject_name=None)
    named = await client.post(
        f"/v1/reports/{fourth['id']}/triage", headers=d.coordinator.headers, json={"decision": "household"}
    )
    assert named.status_code == 422
    assert named.json()["errors"][0]["field"] == "body.household.head_name"
    outside = await make_household(factory, DONG_B)
    wrong = await client.post(
        f"/v1/reports/{fourth['id']}/triage",
        headers=d.coordinator.headers,
        json={"decision": "household", "household_id": str(outside.id)},
    )
    assert wrong.status_code == 422
    linked = await client.post(
        f"/v1/reports/{fourth['id']}/triage",
        headers=d.coordinator.headers,
        json={"decision": "household", "household_id": hid},
    )
    assert linked.json()["outcome"] == "matched"
    assert linked.json()["household"]["id"] == hid


async def test_dismiss(client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]) -> None:
    d = await district(factory)
    report = await _report(client, d)
    url = f"/v1/reports/{report['id']}/triage"
    missing = await client.post(url, headers=d.coordinator.headers, json={"decision": "dismiss"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "body.reason"
    r = await client.post(
        url, headers=d.coordinator.headers, json={"decision": "dismiss", "reason": "이미 지원 중인 가구"}
    )
    assert r.status_code == 200
    assert r.json()["outcome"] == "dismissed"
    assert r.json()["household"] is None
    seen = await client.get(f"/v1/reports/{report['id']}", headers={**d.reporter.headers, "Accept-Language": "en"})
    assert seen.json()["status"] == "dismissed"
    assert seen.json()["outcome_message"].startswith("An official looked into this")
    assert "이미 지원 중인 가구" not in seen.text
    assert [e.payload["status"] for e in await events(maker, "report.triaged")] == ["dismissed"]
    filtered = await client.get("/v1/reports", headers=d.coordinator.headers, params={"status": "dismissed"})
    assert [x["id"] for x in filtered.json()["items"]] == [report["id"]]
