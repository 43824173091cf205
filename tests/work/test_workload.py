"""GET /v1/workload: open visits, cases, monitoring plans and tasks per worker per day (issue 18, item 3)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from openpyxl import load_workbook

from app.audit.models import AuditEvent
from app.cases.models import Case, CaseMember, CaseStage
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.times import local_at, local_today
from app.core.uow import commit
from app.monitoring.models import MonitoringPlan
from tests.support.care import fetch
from tests.support.factories import Actor, Factory, make_household, make_visit

DONG = "1199051000"
OTHER_DONG = "1199052000"


async def make_case(
    factory: Factory, household: Any, manager: Actor, members: list[Actor] = (), due: date | None = None, **kw: Any
) -> Case:  # type: ignore[assignment]
    now = utcnow()
    case = Case(
        household_id=household.id,
        dong_code=household.dong_code,
        manager_id=manager.id,
        stage=kw.pop("stage", CaseStage.assessment),
        stage_started_at=now,
        opened_at=now,
        next_due_on=due,
        **kw,
    )
    async with factory.maker() as s:
        s.add(case)
        await s.flush()
        s.add(CaseMember(case_id=case.id, user_id=manager.id, organization_id=manager.org.id, role_note="manager"))
        for m in members:
            s.add(CaseMember(case_id=case.id, user_id=m.id, organization_id=m.org.id))
        await commit(s)
    return case


async def make_plan(factory: Factory, household: Any, owner: Actor, due: date) -> MonitoringPlan:
    plan = MonitoringPlan(
        household_id=household.id,
        district_code=household.district_code,
        dong_code=household.dong_code,
        owner_id=owner.id,
        interval_days=30,
        next_due_on=due,
        starts_on=due - timedelta(days=30),
    )
    async with factory.maker() as s:
        s.add(plan)
        await commit(s)
    return plan


async def make_task(factory: Factory, household: Any, assignee: Actor, due_at: datetime) -> Any:
    """A winter task (app.winter), or None where that module is not installed."""
    try:
        from app.winter.tasks import create_task
    except ImportError:
        return None
    async with factory.maker() as s:
        task = await create_task(
            s, assignee_id=assignee.id, kind="alert_check", due_at=due_at, household_id=household.id
        )
        await commit(s)
    return task


def at_day(day: date, hour: int = 10) -> datetime:
    return local_at(day, hour)


async def district(factory: Factory) -> dict[str, Any]:
    """A dong centre (coordinator, planners A, B and an idle C), a private centre (partner P), and a planner of
    another district."""
    org = await factory.org(OrgKind.public, ["11990"], name=f"온기구청-{uuid.uuid4().hex[:6]}")
    centre = await factory.org(OrgKind.private, ["11990"], name=f"온기복지관-{uuid.uuid4().hex[:6]}")
    far = await factory.org(OrgKind.public, ["11680"], name=f"먼구청-{uuid.uuid4().hex[:6]}")
    return {
        "org": org,
        "centre": centre,
        "coordinator": await factory.actor(Role.coordinator, org),
        "a": await factory.actor(Role.planner, org),
        "b": await factory.actor(Role.planner, org),
        "c": await factory.actor(Role.planner, org),
        "p": await factory.actor(Role.partner, centre),
        "far": await factory.actor(Role.planner, far),
    }


async def test_workload_per_worker_per_day(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await district(factory)
    a, b, p = w["a"], w["b"], w["p"]
    today = local_today()
    homes = [await make_household(factory, DONG) for _ in range(4)]
    far_home = await make_household(factory, "1168051000")
    await make_visit(factory, homes[0], [a.user], window_start=at_day(today), window_end=at_day(today, 12))
    tomorrow = today + timedelta(days=1)
    await make_visit(
        factory, homes[1], [a.user, p.user], purpose="joint_consultation", window_start=at_day(tomorrow),
        window_end=at_day(tomorrow, 12),
    )  # fmt: skip
    late = today - timedelta(days=3)
    await make_visit(factory, homes[2], [a.user], window_start=at_day(late), window_end=at_day(late, 12))
    await make_visit(factory, homes[3], [a.user], status="completed")  # finished: not open work
    await make_visit(factory, homes[3], [a.user], status="cancelled")
    await make_visit(factory, far_home, [a.user])  # outside the coordinator's jurisdiction
    await make_case(factory, homes[1], a, [p], due=today + timedelta(days=5))
    await make_case(factory, homes[2], b, stage=CaseStage.service)  # past planning: no day
    await make_plan(factory, homes[0], b, today + timedelta(days=3))
    await make_plan(factory, homes[3], b, today + timedelta(days=40))  # after `to`
    task = await make_task(factory, homes[0], a, at_day(tomorrow, 18))

    r = await client.get("/v1/workload", headers=w["coordinator"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == today.isoformat()
    assert body["to"] == (today + timedelta(days=13)).isoformat()
    assert body["kinds"][:3] == ["visits", "cases", "monitoring"]
    workers = {x["user_id"]: x for x in body["workers"]}
    assert str(w["far"].id) not in workers  # works elsewhere, holds nothing here
    assert str(w["c"].id) in workers  # idle but may take work: listed with zeros
    assert workers[str(w["c"].id)]["open"]["total"] == 0
    assert len(workers[str(w["c"].id)]["days"]) == 14

    wa = workers[str(a.id)]
    tasks = 1 if task is not None else 0
    assert wa["open"] == {"visits": 3, "cases": 1, "monitoring": 0, "tasks": tasks, "total": 4 + tasks}
    assert wa["earlier"]["visits"] == 1
    days = {d["date"]: d for d in wa["days"]}
    assert days[today.isoformat()]["visits"] == 1
    assert days[tomorrow.isoformat()]["visits"] == 1
    assert days[tomorrow.isoformat()]["tasks"] == tasks
    assert days[(today + timedelta(days=5)).isoformat()]["cases"] == 1
    assert sum(d["total"] for d in wa["days"]) + wa["earlier"]["total"] == wa["open"]["total"]
    assert (wa["display_name"], wa["role"], wa["organization_name"]) == ("테스트 planner", "planner", w["org"].name)

    wb = workers[str(b.id)]
    assert wb["open"] == {"visits": 0, "cases": 1, "monitoring": 2, "tasks": 0, "total": 3}
    assert wb["undated"]["cases"] == 1
    assert wb["later"]["monitoring"] == 1
    assert {d["date"]: d["monitoring"] for d in wb["days"]}[(today + timedelta(days=3)).isoformat()] == 1

    wp = workers[str(p.id)]
    assert (wp["open"]["visits"], wp["open"]["cases"]) == (1, 1)
    assert wp["organization_name"] == w["centre"].name

    # one dong, another span
    r = await client.get(
        "/v1/workload",
        params={"dong_code": OTHER_DONG, "from": late.isoformat(), "to": today.isoformat()},
        headers=w["coordinator"].headers,
    )
    assert r.status_code == 200, r.text
    assert all(x["open"]["total"] == 0 for x in r.json()["workers"])
    assert len(r.json()["workers"][0]["days"]) == 4

    audited = await fetch(
        factory, AuditEvent, AuditEvent.action == "work.workload", AuditEvent.actor_id == w["coordinator"].id
    )
    assert len(audited) == 2
    audited = [x for x in audited if x.details["codes"] == ["11990"]]
    assert audited[0].details["workers"] == len(workers)


async def test_workload_as_a_spreadsheet(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await district(factory)
    today = local_today()
    home = await make_household(factory, DONG)
    await make_visit(factory, home, [w["a"].user], window_start=at_day(today), window_end=at_day(today, 12))
    r = await client.get("/v1/workload", params={"format": "csv"}, headers=w["coordinator"].headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="ongi-workload-')
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content[3:].decode())))
    mine = [row for row in rows if row["사용자 ID (user_id)"] == str(w["a"].id)]
    assert len(mine) == 14
    assert mine[0]["날짜 (date)"] == today.isoformat()
    assert mine[0]["방문 (visits)"] == "1"
    assert mine[0]["담당자 (worker)"] == "테스트 planner"

    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = await client.get("/v1/workload", headers={**w["coordinator"].headers, "Accept": xlsx})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == xlsx
    sheet = load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in next(sheet.iter_rows())]
    assert header[:2] == ["날짜 (date)", "담당자 (worker)"]
    assert sheet.title == "workload"

    r = await client.get("/v1/workload", headers={**w["coordinator"].headers, "Accept": "application/json"})
    assert r.headers["content-type"] == "application/json"


async def test_workload_is_for_coordinators_of_their_jurisdiction(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await district(factory)
    r = await client.get("/v1/workload", headers=w["a"].headers)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/v1/workload", params={"dong_code": "1168051000"}, headers=w["coordinator"].headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.dong_code"
    today = local_today()
    r = await client.get(
        "/v1/workload",
        params={"from": today.isoformat(), "to": (today + timedelta(days=90)).isoformat()},
        headers=w["coordinator"].headers,
    )
    assert r.status_code == 422
    r = await client.get(
        "/v1/workload",
        params={"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()},
        headers=w["coordinator"].headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.to"
