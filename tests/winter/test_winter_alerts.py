"""Alerts and their check tasks (docs/winter.md): REST, the assignment rule, the summary, escalation, bulk creation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.core.db import utcnow
from app.core.principal import Role
from app.core.uow import commit
from app.winter.models import Task, TaskKind, TaskSource, TaskStatus
from app.winter.tasks import create_task
from tests.support.factories import Factory, make_household


async def test_create_task_targets_one_household_or_facility(factory: Factory) -> None:
    planner = await factory.user(Role.planner)
    household = await make_household(factory)
    due = utcnow() + timedelta(hours=12)
    async with factory.maker() as s:
        task = await create_task(
            s, assignee_id=planner.id, kind="alert_check", due_at=due, household_id=household.id, source="manual"
        )
        await commit(s)
    async with factory.maker() as s:
        stored = await s.get(Task, task.id)
        assert stored is not None
        assert (stored.kind, stored.source, stored.status) == (TaskKind.alert_check, TaskSource.manual, TaskStatus.open)
        assert (stored.dong_code, stored.district_code) == (household.dong_code, household.district_code)
        assert stored.due_at == due
        with pytest.raises(ValueError, match="exactly one"):
            await create_task(s, assignee_id=planner.id, kind="alert_check", due_at=due)


def _alert_body(**kw: object) -> dict[str, object]:
    now = utcnow()
    body: dict[str, object] = {
        "kind": "cold_wave",
        "dong_codes": ["1199051000"],
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "criteria": {"risk_levels": ["high", "critical"], "tags": ["single_person", "elderly"]},
        "due_hours": 24,
    }
    body.update(kw)
    return body


async def test_alert_gives_each_matching_household_a_task_for_its_worker(factory: Factory) -> None:
    from app.cases.models import Case
    from app.core.uow import commit as commit_session
    from tests.support.factories import make_visit

    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    visit_planner = await factory.user(Role.planner, org, jurisdiction=["1199051000"])
    case_planner = await factory.user(Role.planner, org, jurisdiction=["1199051000"])
    duty_a = await factory.user(Role.planner, org, jurisdiction=["1199052000"])
    duty_b = await factory.user(Role.planner, org, jurisdiction=["1199052000"])
    on_visit = await make_household(factory, risk_level="high")
    on_case = await make_household(factory, risk_level="critical")
    elsewhere = [await make_household(factory, "1199052000", risk_level="high") for _ in range(4)]
    await make_household(factory, risk_level="low")  # risk not named
    await make_household(factory, risk_level="high", tags=["elderly"])  # not single-person
    await make_household(factory, "1199053000", risk_level="high")  # dong not named
    await make_visit(factory, on_visit, [visit_planner])
    async with factory.maker() as s:
        now = utcnow()
        s.add(
            Case(
                household_id=on_case.id,
                dong_code=on_case.dong_code,
                manager_id=case_planner.id,
                stage_started_at=now,
                opened_at=now,
            )
        )
        await commit_session(s)

    body = _alert_body(dong_codes=["1199051000", "1199052000"])
    r = await factory.client.post("/v1/alerts", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    alert = r.json()
    assert alert["task_count"] == 6
    assert alert["active"] is True

    r = await factory.client.get(
        "/v1/tasks", params={"alert_id": alert["id"], "limit": 50}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    tasks = {t["household_id"]: t for t in r.json()["items"]}
    assert set(tasks) == {str(h.id) for h in [on_visit, on_case, *elsewhere]}
    assert tasks[str(on_visit.id)]["assignee_id"] == str(visit_planner.id)
    assert tasks[str(on_case.id)]["assignee_id"] == str(case_planner.id)
    # the dong's duty planners share the rest evenly (fewest open tasks first)
    spread = [tasks[str(h.id)]["assignee_id"] for h in elsewhere]
    assert sorted(spread) == sorted([str(duty_a.id)] * 2 + [str(duty_b.id)] * 2)
    starts = datetime.fromisoformat(str(body["starts_at"]))
    due = {datetime.fromisoformat(t["due_at"]) for t in tasks.values()}
    assert len(due) == 1
    assert starts + timedelta(hours=24) < due.pop() <= utcnow() + timedelta(hours=24)
    assert all(t["status"] == "open" and t["kind"] == "alert_check" for t in tasks.values())


async def test_alert_creation_is_safe_to_retry_and_bounded_by_jurisdiction(factory: Factory) -> None:
    import uuid

    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    await factory.user(Role.planner, org)
    await make_household(factory, risk_level="high")
    body = _alert_body(id=str(uuid.uuid4()))
    first = await factory.client.post("/v1/alerts", json=body, headers=coordinator.headers)
    again = await factory.client.post("/v1/alerts", json=body, headers=coordinator.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["task_count"] == 1
    async with factory.maker() as s:
        from sqlalchemy import func, select

        count = (
            await s.execute(select(func.count()).select_from(Task).where(Task.alert_id == uuid.UUID(str(body["id"]))))
        ).scalar_one()
    assert count == 1

    r = await factory.client.post(
        "/v1/alerts", json=_alert_body(dong_codes=["2671000000"]), headers=coordinator.headers
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "dong_codes"
    r = await factory.client.post(
        "/v1/alerts", json=_alert_body(ends_at=(utcnow() - timedelta(days=1)).isoformat()), headers=coordinator.headers
    )
    assert r.status_code == 422

    planner = await factory.actor(Role.planner, org)
    r = await factory.client.post("/v1/alerts", json=_alert_body(), headers=planner.headers)
    assert r.status_code == 403
    other = await factory.actor(Role.coordinator, await factory.org(jurisdiction=["11990"]))
    r = await factory.client.get(f"/v1/alerts/{first.json()['id']}", headers=other.headers)
    assert r.status_code == 404
    r = await factory.client.get(f"/v1/alerts/{first.json()['id']}/summary", headers=other.headers)
    assert r.status_code == 404


async def test_summary_counts_done_open_overdue_by_dong_and_completion_first_wins(factory: Factory) -> None:
    from app.areas.service import set_area_names

    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    households = [await make_household(factory, risk_level="high") for _ in range(3)]
    await make_household(factory, "1199052000", risk_level="high")
    async with factory.maker() as s:
        await set_area_names(s, {"1199051000": "온기1동", "1199052000": "온기2동"})
        await commit(s)
    r = await factory.client.post(
        "/v1/alerts", json=_alert_body(dong_codes=["1199051000", "1199052000"]), headers=coordinator.headers
    )
    alert_id = r.json()["id"]
    mine = (await factory.client.get("/v1/tasks", params={"assignee": "me"}, headers=planner.headers)).json()["items"]
    assert len(mine) == 4  # the organization's only planner is the duty planner of both dongs
    first, second = [t for t in mine if t["dong_code"] == "1199051000"][:2]
    r = await factory.client.post(
        f"/v1/tasks/{first['id']}/complete", json={"outcome": "reached_by_phone"}, headers=planner.headers
    )
    assert r.status_code == 200
    assert r.json()["status"] == "done"
    assert r.json()["outcome"] == "reached_by_phone"
    again = await factory.client.post(
        f"/v1/tasks/{first['id']}/complete", json={"outcome": "reached_by_phone"}, headers=planner.headers
    )
    assert again.status_code == 200
    assert again.json()["version"] == r.json()["version"]
    late = await factory.client.post(
        f"/v1/tasks/{first['id']}/complete", json={"outcome": "visited", "note": "방문함"}, headers=coordinator.headers
    )
    assert late.status_code == 409
    assert late.json()["server"]["outcome"] == "reached_by_phone"
    # one task past due
    async with factory.maker() as s:
        import uuid

        task = await s.get(Task, uuid.UUID(second["id"]))
        assert task is not None
        task.due_at = utcnow() - timedelta(minutes=5)
        await commit(s)

    summary = (await factory.client.get(f"/v1/alerts/{alert_id}/summary", headers=coordinator.headers)).json()
    assert (summary["total"], summary["done"], summary["open"], summary["overdue"]) == (4, 1, 3, 1)
    assert summary["by_outcome"] == {"reached_by_phone": 1}
    by_dong = {d["dong_code"]: d for d in summary["by_dong"]}
    assert by_dong["1199051000"]["dong_name"] == "온기1동"
    assert (by_dong["1199051000"]["total"], by_dong["1199051000"]["done"], by_dong["1199051000"]["overdue"]) == (
        3,
        1,
        1,
    )
    assert (by_dong["1199052000"]["dong_name"], by_dong["1199052000"]["open"]) == ("온기2동", 1)
    assert households  # created above


async def test_overdue_open_tasks_escalate_once_to_the_coordinator(factory: Factory) -> None:
    import uuid

    from sqlalchemy import update

    from app.winter.jobs import escalate_overdue_tasks
    from tests.support.world import events

    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    for _ in range(3):
        await make_household(factory, risk_level="high")
    r = await factory.client.post("/v1/alerts", json=_alert_body(), headers=coordinator.headers)
    alert_id = r.json()["id"]
    mine = (await factory.client.get("/v1/tasks", params={"assignee": "me"}, headers=planner.headers)).json()["items"]
    done = mine[0]["id"]
    r = await factory.client.post(f"/v1/tasks/{done}/complete", json={"outcome": "visited"}, headers=planner.headers)
    assert r.status_code == 200
    async with factory.maker() as s:
        await s.execute(
            update(Task).where(Task.alert_id == uuid.UUID(alert_id)).values(due_at=utcnow() - timedelta(hours=1))
        )
        await commit(s)

    assert await escalate_overdue_tasks(factory.state) == 2  # the two still open
    assert await escalate_overdue_tasks(factory.state) == 0  # once
    escalated = await events(factory.maker, "task.overdue")
    assert len(escalated) == 2
    assert {e.payload["coordinator_id"] for e in escalated} == {str(coordinator.id)}
    assert done not in {e.payload["task_id"] for e in escalated}
    summary = (await factory.client.get(f"/v1/alerts/{alert_id}/summary", headers=coordinator.headers)).json()
    assert (summary["overdue"], summary["escalated"], summary["done"]) == (2, 2, 1)
    overdue = await factory.client.get("/v1/tasks", params={"overdue": "true"}, headers=coordinator.headers)
    items = overdue.json()["items"]
    assert len(items) == 2
    assert all(t["escalated_at"] is not None and t["version"] == 2 for t in items)


async def test_tasks_are_seen_by_the_policy_only(factory: Factory) -> None:
    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    await make_household(factory, risk_level="high")
    await factory.client.post("/v1/alerts", json=_alert_body(), headers=coordinator.headers)
    (task,) = (await factory.client.get("/v1/tasks", params={"assignee": "me"}, headers=planner.headers)).json()[
        "items"
    ]
    outsider = await factory.actor(Role.coordinator, await factory.org(jurisdiction=["26710"]))
    partner = await factory.actor(Role.partner)
    reporter = await factory.actor(Role.reporter)
    for actor in (outsider, partner):
        assert (await factory.client.get(f"/v1/tasks/{task['id']}", headers=actor.headers)).status_code == 404
        listed = await factory.client.get("/v1/tasks", headers=actor.headers)
        assert listed.json()["items"] == []
        r = await factory.client.post(
            f"/v1/tasks/{task['id']}/complete", json={"outcome": "visited"}, headers=actor.headers
        )
        assert r.status_code == 404
    assert (await factory.client.get("/v1/tasks", headers=reporter.headers)).status_code == 403
    colleague = await factory.actor(Role.planner, org)  # sees the area's tasks, completes only their own
    assert (await factory.client.get(f"/v1/tasks/{task['id']}", headers=colleague.headers)).status_code == 200
    r = await factory.client.post(
        f"/v1/tasks/{task['id']}/complete", json={"outcome": "visited"}, headers=colleague.headers
    )
    assert r.status_code == 403
    r = await factory.client.post(f"/v1/tasks/{task['id']}/complete", json={"outcome": "nope"}, headers=planner.headers)
    assert r.status_code == 422


async def test_bulk_tasks_are_written_like_orm_ones(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk path (COPY on PostgreSQL from COPY_MIN rows, multi-row INSERT otherwise) stores what an ORM insert
    would, and notes each task in the change log for the phones."""
    import uuid

    from sqlalchemy import select

    from app.sync.models import ChangeLog
    from app.winter import tasks as tasks_module

    monkeypatch.setattr(tasks_module, "COPY_MIN", 2)
    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.user(Role.planner, org)
    households = [await make_household(factory, risk_level="critical") for _ in range(3)]
    r = await factory.client.post("/v1/alerts", json=_alert_body(), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    async with factory.maker() as s:
        rows = list((await s.execute(select(Task).where(Task.alert_id == uuid.UUID(r.json()["id"])))).scalars())
        assert {t.household_id for t in rows} == {h.id for h in households}
        assert {(t.status, t.kind, t.source, t.assignee_id, t.version) for t in rows} == {
            (TaskStatus.open, TaskKind.alert_check, TaskSource.alert, planner.id, 1)
        }
        assert all(t.due_at.tzinfo is not None and t.outcome is None and t.facility_id is None for t in rows)
        logged = (
            await s.execute(
                select(ChangeLog.entity_id).where(
                    ChangeLog.entity == "task", ChangeLog.entity_id.in_([t.id for t in rows])
                )
            )
        ).scalars()
        assert set(logged) == {t.id for t in rows}
