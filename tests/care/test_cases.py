"""Integrated cases: stages and allowed moves, due dates in Asia/Seoul, overdue filter, team, closing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx

from app.access.policy import partner_reach
from app.cases.models import Case, CaseMember
from app.cases.service import recompute_due
from app.core.db import utcnow
from app.core.principal import OrgKind, Principal, Role
from app.core.times import local_today
from app.monitoring.models import MonitoringPlan
from app.sync.models import ChangeLog
from tests.support.care import coordinator_and_planner, fetch, partner
from tests.support.factories import Factory, make_consent, make_household


async def _open(client: httpx.AsyncClient, actor: object, household_id: uuid.UUID, **kw: object) -> httpx.Response:
    return await client.post(
        "/v1/cases",
        json={"household_id": str(household_id), **kw},
        headers=actor.headers,  # type: ignore[attr-defined]
    )


async def _move(client: httpx.AsyncClient, actor: object, case_id: str, to: str, **kw: object) -> httpx.Response:
    return await client.post(
        f"/v1/cases/{case_id}/transitions",
        json={"to": to, **kw},
        headers=actor.headers,  # type: ignore[attr-defined]
    )


def test_due_dates_follow_seoul_calendar() -> None:
    # 15:30 UTC on Jan 10 is 00:30 on Jan 11 in Seoul: the clock starts on the 11th
    case = Case(
        household_id=uuid.uuid4(),
        dong_code="1199051000",
        manager_id=uuid.uuid4(),
        stage_started_at=datetime(2027, 1, 10, 15, 30, tzinfo=UTC),
        opened_at=datetime(2027, 1, 10, 15, 30, tzinfo=UTC),
    )
    recompute_due(case)
    assert case.assessment_due_on == date(2027, 1, 21)
    assert case.conference_due_on == date(2027, 1, 26)
    assert case.plan_due_on == date(2027, 2, 10)  # intake + 30
    assert case.next_due_on == date(2027, 1, 21)

    # an early assessment moves the conference and plan earlier; the plan never later than intake + 30
    case.assessment_done_at = datetime(2027, 1, 12, 1, 0, tzinfo=UTC)  # Jan 12 in Seoul
    recompute_due(case)
    assert (case.conference_due_on, case.plan_due_on, case.next_due_on) == (
        date(2027, 1, 17),
        date(2027, 2, 1),
        date(2027, 1, 17),
    )
    case.assessment_done_at = datetime(2027, 1, 30, 1, 0, tzinfo=UTC)  # late: Jan 30
    case.conference_done_at = datetime(2027, 2, 3, 1, 0, tzinfo=UTC)
    recompute_due(case)
    assert case.conference_due_on == date(2027, 2, 4)
    assert case.plan_due_on == date(2027, 2, 10)  # Feb 3 + 15 would be Feb 18: capped at intake + 30
    assert case.next_due_on == date(2027, 2, 10)
    case.plan_done_at = datetime(2027, 2, 9, 1, 0, tzinfo=UTC)
    recompute_due(case)
    assert case.next_due_on is None


async def test_open_case_with_team_and_due_dates(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    worker = await partner(factory)
    household = await make_household(factory)
    r = await _open(
        client,
        planner,
        household.id,
        members=[{"user_id": str(worker.id), "role_note": "복지관 사례관리"}],
        goals=[{"text": "난방비 부담 해소"}, {"text": "정기 안부 확인", "key": "contact"}],
        summary="독거 어르신, 겨울철 난방 중단",
    )
    assert r.status_code == 201, r.text
    case = r.json()
    today = local_today()
    assert case["stage"] == "intake"
    assert case["manager_id"] == str(planner.id)
    assert case["due"]["assessment"] == {
        "due_on": (today + timedelta(days=10)).isoformat(),
        "done_on": None,
        "overdue": False,
    }
    assert case["due"]["conference"]["due_on"] == (today + timedelta(days=15)).isoformat()
    assert case["due"]["plan"]["due_on"] == (today + timedelta(days=30)).isoformat()
    assert case["overdue"] is False
    assert [g["key"] for g in case["goals"]] == ["g1", "contact"]
    assert {m["user_id"]: m["organization_kind"] for m in case["members"]} == {
        str(planner.id): "public",
        str(worker.id): "private",
    }
    assert case["allowed_stages"] == ["assessment", "closed"]

    # the partner sees the case but, without consent, not its goals or summary
    seen = await client.get(f"/v1/cases/{case['id']}", headers=worker.headers)
    assert seen.status_code == 200
    assert seen.json()["redacted"] is True
    assert seen.json()["goals"] == []
    assert seen.json()["summary"] is None
    assert seen.json()["allowed_stages"] == []
    await make_consent(factory, household, planner.user, organization=worker.org, purposes=["case_management"])
    seen = await client.get(f"/v1/cases/{case['id']}", headers=worker.headers)
    assert seen.json()["redacted"] is False
    assert seen.json()["summary"] == "독거 어르신, 겨울철 난방 중단"

    # one open case per household
    dup = await _open(client, coordinator, household.id)
    assert dup.status_code == 409
    assert dup.json()["case_id"] == case["id"]
    logged = await fetch(factory, ChangeLog, ChangeLog.entity == "case", ChangeLog.entity_id == uuid.UUID(case["id"]))
    assert logged
    assert logged[0].case_id == uuid.UUID(case["id"])


async def test_who_may_open_and_manage(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    other_planner = await factory.actor(Role.planner, coordinator.org)
    worker = await partner(factory)
    household = await make_household(factory)
    assert (await _open(client, worker, household.id)).status_code == 403
    r = await _open(client, coordinator, household.id, manager_id=str(worker.id))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.manager_id"
    reporter = await factory.actor(Role.reporter)
    r = await _open(client, coordinator, household.id, members=[{"user_id": str(reporter.id)}])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.members.0.user_id"
    elsewhere, _ = await coordinator_and_planner(factory, ["11680"])
    assert (await _open(client, elsewhere, household.id)).status_code == 404

    case = (await _open(client, coordinator, household.id, manager_id=str(planner.id))).json()
    assert (await _move(client, other_planner, case["id"], "assessment")).status_code == 403
    assert (await _move(client, elsewhere, case["id"], "assessment")).status_code == 404
    r = await _move(client, planner, case["id"], "assessment")
    assert r.status_code == 200, r.text
    r = await _move(client, coordinator, case["id"], "conference")
    assert r.status_code == 200
    r = await client.patch(
        f"/v1/cases/{case['id']}",
        json={"goals": [{"text": "주거 안정"}]},
        headers={**other_planner.headers, "If-Match": f'"v{r.json()["version"]}"'},
    )
    assert r.status_code == 403
    r = await client.patch(f"/v1/cases/{case['id']}", json={"goals": [{"text": "주거 안정"}]}, headers=planner.headers)
    assert r.status_code == 200
    stale = await client.patch(
        f"/v1/cases/{case['id']}", json={"summary": "x"}, headers={**planner.headers, "If-Match": '"v1"'}
    )
    assert stale.status_code == 412


async def test_stage_moves_and_history(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    household = await make_household(factory)
    cid = (await _open(client, planner, household.id)).json()["id"]
    r = await _move(client, planner, cid, "planning")
    assert r.status_code == 409
    assert r.json()["type"].endswith("/problems/case-illegal-transition")
    assert r.json()["title"] == "허용되지 않는 사례 단계 변경입니다"  # its own kind, not the visits' title
    assert r.json()["allowed"] == ["assessment", "closed"]
    path = ["assessment", "conference", "assessment", "conference", "planning", "service", "monitoring"]
    for stage in path:
        r = await _move(client, planner, cid, stage, reason=f"to {stage}")
        assert r.status_code == 200, (stage, r.text)
    case = r.json()
    today = local_today().isoformat()
    assert case["due"]["assessment"]["done_on"] == today
    assert case["due"]["conference"]["done_on"] == today
    assert case["due"]["plan"]["done_on"] == today
    assert case["next_due_on"] is None
    assert (await _move(client, planner, cid, "follow_up")).status_code == 409
    history = (await client.get(f"/v1/cases/{cid}/history", headers=coordinator.headers)).json()["items"]
    assert [h["to_stage"] for h in history] == ["intake", *path]
    assert history[1]["reason"] == "to assessment"


async def test_overdue_flags_and_filter(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    late_household, fresh_household = await make_household(factory), await make_household(factory)
    late = (await _open(client, planner, late_household.id)).json()
    fresh = (await _open(client, planner, fresh_household.id)).json()
    opened = utcnow() - timedelta(days=12)
    async with factory.maker() as s:
        row = await s.get(Case, uuid.UUID(late["id"]))
        assert row is not None
        row.opened_at = opened
        recompute_due(row)
        from app.core.uow import commit

        await commit(s)
    r = await client.get(f"/v1/cases/{late['id']}", headers=planner.headers)
    body = r.json()
    assert body["overdue"] is True
    assert body["due"]["assessment"]["overdue"] is True
    assert body["due"]["conference"]["overdue"] is False

    ids = lambda r: {i["id"] for i in r.json()["items"]}  # noqa: E731
    overdue = await client.get("/v1/cases?overdue=true", headers=coordinator.headers)
    assert late["id"] in ids(overdue)
    assert fresh["id"] not in ids(overdue)
    not_overdue = await client.get("/v1/cases?overdue=false", headers=coordinator.headers)
    assert fresh["id"] in ids(not_overdue)
    assert late["id"] not in ids(not_overdue)

    # assessment done 12 days in (late): conference due in 5 days, plan capped at intake + 30
    r = await _move(client, planner, late["id"], "assessment")
    r = await _move(client, planner, late["id"], "conference")
    body = r.json()
    today = local_today()
    assert body["overdue"] is False
    assert body["due"]["conference"]["due_on"] == (today + timedelta(days=5)).isoformat()
    opened_local = local_today(opened)
    assert (
        body["due"]["plan"]["due_on"] == min(today + timedelta(days=20), opened_local + timedelta(days=30)).isoformat()
    )
    overdue = await client.get("/v1/cases?overdue=true", headers=coordinator.headers)
    assert late["id"] not in ids(overdue)

    mine = await client.get("/v1/cases?manager=me&stage=conference", headers=planner.headers)
    assert ids(mine) == {late["id"]}
    assert (await client.get("/v1/cases?manager=nobody", headers=planner.headers)).status_code == 422


async def test_closing_ends_partner_access_and_schedules_monitoring(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _coordinator, planner = await coordinator_and_planner(factory)
    worker = await partner(factory)
    household = await make_household(factory)
    await make_consent(factory, household, planner.user, organization=worker.org, purposes=["case_management"])
    cid = (await _open(client, planner, household.id, members=[{"user_id": str(worker.id)}])).json()["id"]
    principal = Principal(
        user_id=worker.id,
        username=worker.user.username,
        role=Role.partner,
        organization_id=worker.org.id,
        org_kind=OrgKind.private,
        jurisdiction=("11990",),
    )
    async with factory.maker() as s:
        assert household.id in (await partner_reach(s, principal)).consented
    listed = await client.get("/v1/cases?open=true", headers=worker.headers)
    assert [i["id"] for i in listed.json()["items"]] == [cid]

    r = await _move(client, planner, cid, "closed", reason="욕구 해소", monitoring_interval_days=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["closed_at"] is not None
    assert body["close_reason"] == "욕구 해소"
    assert body["next_due_on"] is None
    assert body["overdue"] is False
    members = {m["user_id"]: m["ended_at"] for m in body["members"]}
    assert members[str(worker.id)] is not None
    assert members[str(planner.id)] is None

    assert (await client.get(f"/v1/cases/{cid}", headers=worker.headers)).status_code == 404
    assert (await client.get("/v1/cases", headers=worker.headers)).json()["items"] == []
    async with factory.maker() as s:
        assert household.id not in (await partner_reach(s, principal)).consented
    ended = await fetch(factory, CaseMember, CaseMember.case_id == uuid.UUID(cid), CaseMember.user_id == worker.id)
    assert ended[0].ended_at is not None

    plans = await fetch(factory, MonitoringPlan, MonitoringPlan.household_id == household.id)
    assert len(plans) == 1
    assert plans[0].owner_id == planner.id
    assert plans[0].source == "case_closure"
    assert plans[0].case_id == uuid.UUID(cid)
    assert plans[0].next_due_on == local_today() + timedelta(days=60)

    # follow-up after closure, and back; a new case may be opened once this one is closed
    assert (await _move(client, planner, cid, "follow_up")).json()["stage"] == "follow_up"
    r = await _move(client, planner, cid, "service")
    assert r.status_code == 409
    assert r.json()["allowed"] == ["closed"]
    assert (await _move(client, planner, cid, "closed")).status_code == 200
    assert len(await fetch(factory, MonitoringPlan, MonitoringPlan.household_id == household.id)) == 1
    assert (await _open(client, planner, household.id)).status_code == 201
    assert (
        await client.post(f"/v1/cases/{cid}/members", json={"user_id": str(worker.id)}, headers=planner.headers)
    ).status_code == 409


async def test_team_members_added_and_ended(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    worker = await partner(factory)
    household = await make_household(factory)
    cid = (await _open(client, coordinator, household.id, manager_id=str(planner.id))).json()["id"]
    r = await client.post(f"/v1/cases/{cid}/members", json={"user_id": str(worker.id)}, headers=planner.headers)
    assert r.status_code == 200, r.text
    assert str(worker.id) in [m["user_id"] for m in r.json()["members"]]
    assert (await client.get(f"/v1/cases/{cid}", headers=worker.headers)).status_code == 200
    assert (
        await client.post(f"/v1/cases/{cid}/members", json={"user_id": str(worker.id)}, headers=worker.headers)
    ).status_code == 403
    r = await client.delete(f"/v1/cases/{cid}/members/{worker.id}", headers=coordinator.headers)
    assert r.status_code == 200
    assert (await client.get(f"/v1/cases/{cid}", headers=worker.headers)).status_code == 404
    assert (await client.delete(f"/v1/cases/{cid}/members/{worker.id}", headers=coordinator.headers)).status_code == 404
    assert (
        await client.delete(f"/v1/cases/{cid}/members/{planner.id}", headers=coordinator.headers)
    ).status_code == 422
    # re-adding re-activates the same row
    r = await client.post(f"/v1/cases/{cid}/members", json={"user_id": str(worker.id)}, headers=coordinator.headers)
    assert r.status_code == 200
    rows = await fetch(factory, CaseMember, CaseMember.case_id == uuid.UUID(cid), CaseMember.user_id == worker.id)
    assert len(rows) == 1
    assert rows[0].ended_at is None
    # handing the case to another manager makes them a member
    new_manager = await factory.actor(Role.planner, coordinator.org)
    r = await client.patch(f"/v1/cases/{cid}", json={"manager_id": str(new_manager.id)}, headers=coordinator.headers)
    assert r.status_code == 200
    assert r.json()["manager_id"] == str(new_manager.id)
    assert str(new_manager.id) in [m["user_id"] for m in r.json()["members"]]
