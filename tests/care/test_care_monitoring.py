"""Monitoring plans: creating the due follow-up visits (worker and coordinator), access, validation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from app.core.principal import Role
from app.core.times import local_today
from app.core.uow import open_session
from app.monitoring.models import MonitoringPlan
from app.monitoring.service import schedule_due_followups
from app.visits.models import Visit, VisitAssignee, VisitStatus
from tests.support.care import coordinator_and_planner, fetch, make_resource, partner, propose, set_columns
from tests.support.factories import Factory, make_household

SEOUL = ZoneInfo("Asia/Seoul")


async def _plan(client: httpx.AsyncClient, actor: object, household_id: uuid.UUID, **kw: object) -> dict[str, object]:
    r = await client.post(
        "/v1/monitoring",
        json={"household_id": str(household_id), **kw},
        headers=actor.headers,  # type: ignore[attr-defined]
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _visits_of(factory: Factory, household_id: uuid.UUID) -> list[tuple[Visit, list[uuid.UUID]]]:
    async with factory.maker() as s:
        visits = list((await s.execute(select(Visit).where(Visit.household_id == household_id))).scalars())
        out = []
        for v in visits:
            team = list(
                (await s.execute(select(VisitAssignee.user_id).where(VisitAssignee.visit_id == v.id))).scalars()
            )
            out.append((v, team))
        return out


async def test_due_plan_creates_one_follow_up_visit_for_its_owner(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    household = await make_household(factory)
    today = local_today()
    plan = await _plan(client, coordinator, household.id, owner_id=str(planner.id), interval_days=30)
    assert plan["next_due_on"] == (today + timedelta(days=30)).isoformat()
    assert plan["due"] is False

    now = datetime.now(UTC)
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, now) == 0  # not due yet
    await set_columns(factory, MonitoringPlan, uuid.UUID(plan["id"]), next_due_on=today)
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, now) == 1
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, now) == 0  # nothing twice

    [(visit, team)] = await _visits_of(factory, household.id)
    assert visit.purpose == "follow_up"
    assert visit.status == VisitStatus.scheduled
    assert team == [planner.id]
    assert visit.dong_code == household.dong_code
    start = visit.window_start.astimezone(SEOUL)
    assert (start.date(), start.hour) == (today, 9)
    end = visit.window_end.astimezone(SEOUL)
    assert (end.date(), end.hour) == (today + timedelta(days=6), 18)
    [row] = await fetch(factory, MonitoringPlan, MonitoringPlan.id == uuid.UUID(plan["id"]))
    assert row.next_due_on == today + timedelta(days=30)
    assert row.last_visit_id == visit.id
    assert row.visits_created == 1

    # due again while the first follow-up is still open: no second visit
    await set_columns(factory, MonitoringPlan, row.id, next_due_on=today)
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, now) == 0
    r = await client.get("/v1/monitoring/due", headers=coordinator.headers)
    assert plan["id"] in [p["id"] for p in r.json()["items"]]
    # once it was made, the next one is created
    await set_columns(factory, Visit, visit.id, status=VisitStatus.completed)
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, now) == 1
    assert len(await _visits_of(factory, household.id)) == 2


async def test_a_backlog_gives_one_visit_and_skips_missed_intervals(
    factory: Factory, client: httpx.AsyncClient
) -> None:
    _coordinator, planner = await coordinator_and_planner(factory)
    household = await make_household(factory)
    plan = await _plan(client, planner, household.id, interval_days=30)
    today = local_today()
    await set_columns(factory, MonitoringPlan, uuid.UUID(plan["id"]), next_due_on=today - timedelta(days=100))
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, datetime.now(UTC)) == 1
    [row] = await fetch(factory, MonitoringPlan, MonitoringPlan.id == uuid.UUID(plan["id"]))
    assert row.next_due_on == today - timedelta(days=100) + timedelta(days=120)
    [(visit, _)] = await _visits_of(factory, household.id)
    assert visit.window_start.astimezone(SEOUL).date() == today  # a missed due date starts the window today


async def test_seoul_date_decides_what_is_due(factory: Factory, client: httpx.AsyncClient) -> None:
    _, planner = await coordinator_and_planner(factory)
    household = await make_household(factory)
    plan = await _plan(client, planner, household.id, interval_days=7)
    due = date(2027, 1, 11)
    await set_columns(factory, MonitoringPlan, uuid.UUID(plan["id"]), next_due_on=due)
    before = datetime(2027, 1, 10, 14, 59, tzinfo=UTC)  # 23:59 on Jan 10 in Seoul
    after = datetime(2027, 1, 10, 15, 1, tzinfo=UTC)  # 00:01 on Jan 11 in Seoul
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, before) == 0
        assert await schedule_due_followups(s, after) == 1


async def test_ended_plans_stop(factory: Factory, client: httpx.AsyncClient) -> None:
    _, planner = await coordinator_and_planner(factory)
    household = await make_household(factory)
    plan = await _plan(client, planner, household.id)
    today = local_today()
    await set_columns(
        factory,
        MonitoringPlan,
        uuid.UUID(plan["id"]),
        next_due_on=today,
        ends_on=today - timedelta(days=1),
        starts_on=today - timedelta(days=60),
    )
    async with open_session(factory.maker, write=True) as s:
        assert await schedule_due_followups(s, datetime.now(UTC)) == 0
    [row] = await fetch(factory, MonitoringPlan, MonitoringPlan.id == uuid.UUID(plan["id"]))
    assert row.active is False
    assert row.ended_at is not None


async def test_coordinator_runs_only_their_jurisdiction(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory, ["1199051000"])
    _other_coordinator, other_planner = await coordinator_and_planner(factory, ["1199052000"])
    mine = await make_household(factory, dong_code="1199051000")
    theirs = await make_household(factory, dong_code="1199052000")
    today = local_today()
    p1 = await _plan(client, planner, mine.id)
    p2 = await _plan(client, other_planner, theirs.id)
    for p in (p1, p2):
        await set_columns(factory, MonitoringPlan, uuid.UUID(str(p["id"])), next_due_on=today)
    due = await client.get("/v1/monitoring/due", headers=coordinator.headers)
    assert due.json() == {"items": [due.json()["items"][0]], "next_cursor": None}
    assert [p["id"] for p in due.json()["items"]] == [p1["id"]]
    assert (await client.post("/v1/monitoring/run", headers=planner.headers)).status_code == 403
    r = await client.post("/v1/monitoring/run", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    assert r.json()["as_of"] == today.isoformat()
    assert len(await _visits_of(factory, mine.id)) == 1
    assert await _visits_of(factory, theirs.id) == []
    r = await client.post("/v1/monitoring/run", headers=coordinator.headers)
    assert r.json()["created"] == 0
    assert (await client.get("/v1/monitoring/due", headers=coordinator.headers)).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_access_and_validation(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    worker = await partner(factory)
    reporter = await factory.actor(Role.reporter)
    household = await make_household(factory)
    r = await client.post(
        "/v1/monitoring",
        json={"household_id": str(household.id), "owner_id": str(reporter.id)},
        headers=planner.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.owner_id"
    r = await client.post(
        "/v1/monitoring", json={"household_id": str(household.id), "interval_days": 0}, headers=planner.headers
    )
    assert r.status_code == 422
    assert (
        await client.post("/v1/monitoring", json={"household_id": str(household.id)}, headers=worker.headers)
    ).status_code == 403
    elsewhere, _ = await coordinator_and_planner(factory, ["11680"])
    assert (
        await client.post("/v1/monitoring", json={"household_id": str(household.id)}, headers=elsewhere.headers)
    ).status_code == 404

    owned = await _plan(client, coordinator, household.id, owner_id=str(worker.id), interval_days=14)
    other = await _plan(client, coordinator, (await make_household(factory)).id)
    listed = await client.get("/v1/monitoring", headers=worker.headers)
    assert [p["id"] for p in listed.json()["items"]] == [owned["id"]]
    assert (await client.get(f"/v1/monitoring/{other['id']}", headers=worker.headers)).status_code == 404
    assert (await client.get(f"/v1/monitoring/{owned['id']}", headers=elsewhere.headers)).status_code == 404
    r = await client.get(f"/v1/monitoring/{owned['id']}", headers=worker.headers)
    assert r.status_code == 200
    assert r.headers["etag"].startswith('"v1-')
    assert (await client.get("/v1/monitoring", headers=reporter.headers)).status_code == 403
    mine = await client.get("/v1/monitoring?owner=me", headers=coordinator.headers)
    assert {p["id"] for p in mine.json()["items"]} == {other["id"]}

    r = await client.patch(
        f"/v1/monitoring/{owned['id']}",
        json={"interval_days": 60, "active": False},
        headers={**planner.headers, "If-Match": '"v1"'},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["interval_days"], r.json()["active"]) == (60, False)
    r = await client.patch(
        f"/v1/monitoring/{owned['id']}", json={"interval_days": 7}, headers={**planner.headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 412
    assert (
        await client.patch(f"/v1/monitoring/{owned['id']}", json={"interval_days": 7}, headers=worker.headers)
    ).status_code == 403
    inactive = await client.get("/v1/monitoring?active=false", headers=coordinator.headers)
    assert [p["id"] for p in inactive.json()["items"]] == [owned["id"]]


async def test_the_worker_runs_the_monitoring_job(client: httpx.AsyncClient, factory: Factory, app: Any) -> None:
    from app.worker import discover_jobs

    [job] = [j for j in discover_jobs() if j.name == "monitoring"]
    _, planner = await coordinator_and_planner(factory)
    household = await make_household(factory)
    plan = await _plan(client, planner, household.id)
    await set_columns(factory, MonitoringPlan, uuid.UUID(str(plan["id"])), next_due_on=local_today())
    state = app.state.ongi
    assert await job.run(state) == 1
    assert await job.run(state) == 0
    assert job.idle_seconds(state) > 0
    [(visit, team)] = await _visits_of(factory, household.id)
    assert (visit.purpose, team) == ("follow_up", [planner.id])


async def test_a_plan_names_a_support_or_case_of_its_own_household(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, _planner = await coordinator_and_planner(factory)
    household, other = await make_household(factory), await make_household(factory)
    resource = await make_resource(client, coordinator)
    support = (await propose(client, coordinator, other.id, resource["id"])).json()
    for field, value in (("support_id", support["id"]), ("case_id", str(uuid.uuid4()))):
        r = await client.post(
            "/v1/monitoring",
            json={"household_id": str(household.id), field: value},
            headers=coordinator.headers,
        )
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == [f"body.{field}"]
    plan = await _plan(client, coordinator, other.id, support_id=support["id"])
    assert plan["support_id"] == support["id"]
