"""Legal clocks (docs/winter.md): the rules table, business days without Korean public holidays, households' clocks
from their intake, REST fields, GET /v1/deadlines and the at-risk / overdue events (once each)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.cases.models import Case
from app.core.db import utcnow
from app.core.principal import Role
from app.core.uow import commit
from app.households import clocks as rules_module
from app.households.clocks import add_business_days, due_after, end_of_day, load_rules
from app.households.models import Household, HouseholdStatus, Signal, SignalSource
from app.winter.deadlines import SignalFact, household_clock, refresh_households
from app.winter.jobs import run_deadlines
from tests.integrations.test_integrations import URL, payload
from tests.support.factories import Factory, make_household, make_visit
from tests.support.integrations import integration_client
from tests.support.world import events

KST = rules_module.ZoneInfo("Asia/Seoul")


# --- the table ---------------------------------------------------------------------------------------------------


def test_business_days_skip_weekends_and_korean_public_holidays() -> None:
    # Thursday 24 December 2026: Christmas (Friday) and the weekend are not counted
    assert add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    # Seollal 2027 (6-9 February with the substitute holiday): from Friday the 5th, the next business day is the 10th
    assert add_business_days(date(2027, 2, 5), 1) == date(2027, 2, 10)
    # 14 business days from Monday 14 December 2026: Christmas and 1 January are skipped
    assert add_business_days(date(2026, 12, 14), 14) == date(2027, 1, 5)
    rule = load_rules(None)["crisis_report.first_counselling"]
    start = datetime(2026, 12, 14, 10, 0, tzinfo=KST)
    assert due_after(rule, start, KST) == datetime(2027, 1, 6, 0, 0, tzinfo=KST)  # the end of 5 January


def test_the_rules_table_is_configurable_and_refuses_what_it_does_not_know(tmp_path: Any) -> None:
    table = load_rules('{"crisis_report.first_counselling": {"amount": 10, "unit": "days"}}')
    assert (table["crisis_report.first_counselling"].amount, table["crisis_report.first_counselling"].unit) == (
        10,
        "days",
    )
    assert table["urgent.reach"].amount == 24  # the rest as it was
    path = tmp_path / "rules.json"
    path.write_text('{"urgent.reach": {"amount": 12, "at_risk_before_hours": 3}}', encoding="utf-8")
    assert load_rules(f"@{path}")["urgent.reach"].amount == 12
    with pytest.raises(ValueError, match="unknown deadline rule"):
        load_rules('{"no.such": {"amount": 1}}')
    with pytest.raises(ValueError, match="only"):
        load_rules('{"urgent.reach": {"stops_at": []}}')
    with pytest.raises(ValueError, match="unit"):
        load_rules('{"urgent.reach": {"unit": "weeks"}}')


def test_a_households_clock_follows_its_intake() -> None:
    t0 = datetime(2026, 12, 14, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul
    report = SignalFact("resident_report", t0, {})
    # a neighbour's report: 14 business days from the assignment (the visit created two days later)
    assigned = t0 + timedelta(days=2)
    due, rule = household_clock("identified", [report], [assigned], [])
    assert rule == "crisis_report.first_counselling"
    assert due == end_of_day(add_business_days(date(2026, 12, 16), 14))
    # not assigned yet: from the report itself
    assert household_clock("identified", [report], [], [])[0] == end_of_day(add_business_days(date(2026, 12, 14), 14))
    # a big-data row: the end of its round
    round_end = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
    bigdata = SignalFact("bigdata", t0, {"round_ends_at": round_end.isoformat()})
    assert household_clock("identified", [bigdata], [], []) == (round_end, "bigdata.round")
    # urgent: reached within 24 h, then decided within 48 h; the soonest clock wins
    urgent = SignalFact("agency_referral", t0, {"urgent": True})
    assert household_clock("identified", [bigdata, urgent], [], []) == (t0 + timedelta(hours=24), "urgent.reach")
    assert household_clock("contacted", [bigdata, urgent], [], []) == (t0 + timedelta(hours=48), "urgent.decide")
    # a household in an active alert is urgent from the alert's start
    alert_start = t0 + timedelta(hours=5)
    assert household_clock("identified", [bigdata], [], [alert_start]) == (
        alert_start + timedelta(hours=24),
        "urgent.reach",
    )
    # reached (and not urgent): no clock; assessed: none at all
    assert household_clock("contacted", [bigdata], [], []) == (None, None)
    assert household_clock("assessed", [urgent], [], []) == (None, None)


# --- households, visits and cases carry their clock ---------------------------------------------------------------


async def _signal(factory: Factory, household: Household, source: SignalSource, at: datetime, **details: Any) -> None:
    async with factory.maker() as s:
        s.add(
            Signal(
                household_id=household.id,
                source=source,
                indicators=["power_cut"],
                observed_at=at,
                details=details,
                created_at=at,
            )
        )
        await commit(s)


async def test_an_import_carries_its_rounds_end_to_the_households_clock(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    feed = await integration_client(factory, ["households:import"])
    coordinator = await factory.actor(Role.coordinator)
    round_end = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    body = payload(1, round_ends_at=round_end.isoformat())
    r = await client.put(f"{URL}/bigdata/BD-{uuid.uuid4().hex[:8]}", headers=feed.headers, json=body)
    assert r.status_code == 201, r.text
    hid = r.json()["household_id"]
    await run_deadlines(factory.state)
    household = (await client.get(f"/v1/households/{hid}", headers=coordinator.headers)).json()
    assert datetime.fromisoformat(household["due_at"]) == round_end
    assert household["deadline_state"] == "on_track"
    refused = await client.put(
        f"{URL}/bigdata/BD-{uuid.uuid4().hex[:8]}", headers=feed.headers, json=payload(2, round_ends_at="2026-12-31")
    )
    assert refused.status_code == 422


async def test_households_visits_and_cases_show_due_at_and_state(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    now = utcnow()
    late = await make_household(factory)
    await _signal(factory, late, SignalSource.agency_referral, now - timedelta(hours=30), urgent=True)
    async with factory.maker() as s:
        assert await refresh_households(s, [late.id]) == 1
        await commit(s)
    r = await client.get(f"/v1/households/{late.id}", headers=coordinator.headers)
    assert r.json()["deadline_state"] == "overdue"
    assert r.json()["due_at"] is not None
    # reached: the reach clock stops at once (before the job moves it on to the decision's clock)
    async with factory.maker() as s:
        h = await s.get(Household, late.id)
        assert h is not None
        h.status = HouseholdStatus.contacted
        await commit(s)
    r = await client.get(f"/v1/households/{late.id}", headers=coordinator.headers)
    assert (r.json()["due_at"], r.json()["deadline_state"]) == (None, None)
    async with factory.maker() as s:
        await refresh_households(s, [late.id])
        await commit(s)
    r = await client.get(f"/v1/households/{late.id}", headers=coordinator.headers)
    assert r.json()["deadline_state"] == "on_track"  # decided within 48 h of the signal: 18 h left (warned at 12)
    assert datetime.fromisoformat(r.json()["due_at"]) == now - timedelta(hours=30) + timedelta(hours=48)

    visit = await make_visit(factory, late, [planner.user], window_end=now + timedelta(minutes=30))
    r = await client.get(f"/v1/visits/{visit.id}", headers=coordinator.headers)
    assert r.json()["deadline_state"] == "at_risk"
    assert datetime.fromisoformat(r.json()["due_at"]) == visit.window_end
    async with factory.maker() as s:
        case = Case(
            household_id=late.id,
            dong_code=late.dong_code,
            manager_id=planner.id,
            stage_started_at=now,
            opened_at=now,
            next_due_on=rules_module.local_date(now) - timedelta(days=1),
        )
        s.add(case)
        await commit(s)
    r = await client.get(f"/v1/cases/{case.id}", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["deadline_state"] == "overdue"


async def _world(factory: Factory) -> dict[str, Any]:
    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    now = utcnow()
    overdue = await make_household(factory)
    await _signal(factory, overdue, SignalSource.honorary_official, now - timedelta(days=40))
    at_risk = await make_household(factory)
    await _signal(factory, at_risk, SignalSource.agency_referral, now - timedelta(hours=20), urgent=True)
    calm = await make_household(factory)
    await _signal(factory, calm, SignalSource.resident_report, now)
    elsewhere = await make_household(factory, "2671025000")
    await _signal(factory, elsewhere, SignalSource.agency_referral, now - timedelta(hours=30), urgent=True)
    visit = await make_visit(factory, calm, [planner.user], window_end=now + timedelta(minutes=90))
    async with factory.maker() as s:
        await refresh_households(s, [overdue.id, at_risk.id, calm.id, elsewhere.id])
        await commit(s)
    return {
        "coordinator": coordinator,
        "planner": planner,
        "overdue": overdue,
        "at_risk": at_risk,
        "calm": calm,
        "elsewhere": elsewhere,
        "visit": visit,
    }


async def test_deadlines_lists_what_is_at_risk_in_the_jurisdiction_soonest_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    w = await _world(factory)
    r = await client.get("/v1/deadlines", headers=w["coordinator"].headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["entity"], i["id"], i["deadline_state"]) for i in items] == [
        ("household", str(w["overdue"].id), "overdue"),
        ("visit", str(w["visit"].id), "at_risk"),
        ("household", str(w["at_risk"].id), "at_risk"),
    ]
    assert items[0]["rule"] == "crisis_report.first_counselling"
    # paged: the same order, one at a time
    seen, cursor = [], None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/deadlines", params=params, headers=w["coordinator"].headers)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in items]
    # filters
    only = await client.get(
        "/v1/deadlines", params={"entity": "household", "state": "on_track"}, headers=w["coordinator"].headers
    )
    assert [i["id"] for i in only.json()["items"]] == [str(w["calm"].id)]
    bad = await client.get("/v1/deadlines", params={"cursor": "bm9wZQ"}, headers=w["coordinator"].headers)
    assert bad.status_code == 422
    # another district's coordinator sees none of it; a partner may not ask
    outsider = await factory.actor(Role.coordinator, await factory.org(jurisdiction=["26710"]))
    theirs = (await client.get("/v1/deadlines", headers=outsider.headers)).json()["items"]
    assert [i["id"] for i in theirs] == [str(w["elsewhere"].id)]
    partner = await factory.actor(Role.partner)
    assert (await client.get("/v1/deadlines", headers=partner.headers)).status_code == 403


async def test_at_risk_and_overdue_are_announced_once_each(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await _world(factory)
    await run_deadlines(factory.state)
    await run_deadlines(factory.state)
    at_risk = {(e.payload["entity"], e.payload["id"]) for e in await events(factory.maker, "deadline.at_risk")}
    overdue = [(e.payload["entity"], e.payload["id"]) for e in await events(factory.maker, "deadline.overdue")]
    mine = {("household", str(w["overdue"].id)), ("household", str(w["at_risk"].id)), ("visit", str(w["visit"].id))}
    assert mine <= at_risk  # an overdue record is announced at risk too, before it
    assert ("household", str(w["calm"].id)) not in at_risk
    assert overdue.count(("household", str(w["overdue"].id))) == 1
    assert ("household", str(w["at_risk"].id)) not in overdue
    # time passes: the at-risk one becomes overdue, announced once
    later = utcnow() + timedelta(hours=5)
    from app.winter.jobs import run_deadlines as again

    await again(factory.state, later)
    await again(factory.state, later)
    overdue = [(e.payload["entity"], e.payload["id"]) for e in await events(factory.maker, "deadline.overdue")]
    assert overdue.count(("household", str(w["at_risk"].id))) == 1
    async with factory.maker() as s:
        from app.winter.models import DeadlineNotice

        rows = (await s.execute(select(DeadlineNotice).where(DeadlineNotice.entity_id == w["at_risk"].id))).scalars()
        assert sorted(n.state for n in rows) == ["at_risk", "overdue"]


async def test_a_household_in_an_active_alert_is_urgent(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    await factory.user(Role.planner, org)
    now = utcnow()
    household = await make_household(factory, risk_level="high")
    await _signal(factory, household, SignalSource.resident_report, now - timedelta(days=1))
    r = await client.post(
        "/v1/alerts",
        json={
            "kind": "cold_wave",
            "dong_codes": ["1199051000"],
            "starts_at": (now - timedelta(hours=2)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "due_hours": 12,
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    await run_deadlines(factory.state)
    body = (await client.get(f"/v1/households/{household.id}", headers=coordinator.headers)).json()
    async with factory.maker() as s:
        stored = await s.get(Household, household.id)
        assert stored is not None
        assert stored.deadline_rule == "urgent.reach"
    # reached within 24 h of the alert's start (or of when the household was added to it, if later)
    assert (
        now + timedelta(hours=22) - timedelta(seconds=5)
        <= datetime.fromisoformat(body["due_at"])
        <= utcnow() + timedelta(hours=24)
    )
