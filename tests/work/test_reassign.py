"""POST /v1/users/{id}/reassign, and deactivation refused while open work remains (issue 18, item 3)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import Case, CaseMember
from app.core.principal import Role
from app.core.times import local_today
from app.events.models import OutboxEvent
from app.monitoring.models import MonitoringPlan
from app.notes.models import Note
from app.visits.models import Visit, VisitAssignee
from tests.support.care import fetch
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit
from tests.support.sync import Phone
from tests.support.sync import push as _push
from tests.work.test_workload import DONG, at_day, district, make_case, make_plan, make_task


async def _reassign(client: httpx.AsyncClient, actor: Actor, user: Actor, **body: Any) -> httpx.Response:
    body = {k: [str(x) for x in v] if k == "to" else v for k, v in body.items()}
    return await client.post(f"/v1/users/{user.id}/reassign", json=body, headers=actor.headers)


async def _team(factory: Factory, visit_id: uuid.UUID) -> dict[uuid.UUID, bool]:
    """Active members of a visit's team → lead."""
    rows = await fetch(factory, VisitAssignee, VisitAssignee.visit_id == visit_id, VisitAssignee.ended_at.is_(None))
    return {r.user_id: r.lead for r in rows}


async def test_a_leavers_work_is_balanced_household_by_household_then_they_may_be_deactivated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    w = await district(factory)
    a, b, c, coordinator = w["a"], w["b"], w["c"], w["coordinator"]
    admin = await factory.actor(Role.admin, w["org"])
    today = local_today()
    homes = [await make_household(factory, DONG) for _ in range(4)]
    visits = [
        await make_visit(
            factory, h, [a.user], window_start=at_day(today + timedelta(days=i)), window_end=at_day(today, 23)
        )
        for i, h in enumerate(homes)
    ]
    case = await make_case(factory, homes[0], a, due=today + timedelta(days=5))
    plan = await make_plan(factory, homes[1], a, today + timedelta(days=2))
    task = await make_task(factory, homes[2], a, at_day(today + timedelta(days=3), 18))
    await make_visit(factory, homes[3], [b.user])  # B already holds one visit
    done = await make_visit(factory, homes[3], [a.user], status="completed")  # finished: stays A's

    # an admin cannot deactivate A yet: 409 naming what A holds
    r = await client.patch(f"/v1/users/{a.id}", json={"active": False}, headers=admin.headers)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith("/problems/open-work")
    tasks = 1 if task is not None else 0
    assert problem["open"] == {"visits": 4, "cases": 1, "monitoring": 1, "tasks": tasks, "total": 6 + tasks}
    assert "방문 4" in problem["detail"]
    assert problem["reassign"] == f"/v1/users/{a.id}/reassign"
    async with factory.maker() as s:
        assert (await s.get(User, a.id)).active is True  # type: ignore[union-attr]

    r = await _reassign(client, coordinator, a, to=[b.id, c.id])
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["moved"]["total"] == 6 + tasks
    assert moved["remaining"]["total"] == 0
    placed = {(i["kind"], i["id"]): i["to"] for i in moved["items"]}
    # one household's work goes to one receiver
    by_home: dict[str | None, set[str]] = {}
    for item in moved["items"]:
        by_home.setdefault(item["household_id"], set()).add(item["to"])
    assert all(len(to) == 1 for to in by_home.values())
    # balanced: C (idle) took the first household (visit + case), B (one visit) the second (visit + plan) …
    assert placed[("visits", str(visits[0].id))] == str(c.id)
    assert placed[("cases", str(case.id))] == str(c.id)
    assert placed[("visits", str(visits[1].id))] == str(b.id)
    assert placed[("monitoring", str(plan.id))] == str(b.id)
    shares = {s["user_id"]: s["total"] for s in moved["receivers"]}
    assert abs(shares[str(b.id)] + 1 - shares[str(c.id)]) <= 2  # B started with one more

    for v in visits:
        team = await _team(factory, v.id)
        assert a.id not in team
        assert list(team.values()) == [True]  # the receiver leads, as A did
    assert set(await _team(factory, done.id)) == {a.id}
    [row] = await fetch(factory, Case, Case.id == case.id)
    assert row.manager_id == c.id
    members = await fetch(factory, CaseMember, CaseMember.case_id == case.id, CaseMember.ended_at.is_(None))
    assert [m.user_id for m in members] == [c.id]
    [row] = await fetch(factory, MonitoringPlan, MonitoringPlan.id == plan.id)
    assert row.owner_id == b.id
    if task is not None:
        from app.winter.models import Task

        [row] = await fetch(factory, Task, Task.id == task.id)
        assert str(row.assignee_id) == placed[("tasks", str(task.id))]

    events = await fetch(factory, OutboxEvent, OutboxEvent.type == "work.reassigned")
    assert len(events) == 6 + tasks
    assert {e.payload["from_user_id"] for e in events} == {str(a.id)}
    assert Counter(e.payload["kind"] for e in events)["visit"] == 4
    assert all(e.district_code == "11990" for e in events)
    audited = await fetch(factory, AuditEvent, AuditEvent.action == "work.reassign")
    assert {x.entity_id for x in audited} >= {v.id for v in visits} | {case.id, plan.id}

    # a retried request has nothing left to move; now A may be deactivated
    again = await _reassign(client, coordinator, a, to=[b.id, c.id])
    assert again.status_code == 200
    assert again.json()["moved"]["total"] == 0
    r = await client.patch(f"/v1/users/{a.id}", json={"active": False}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False


async def test_by_kind_and_from_date(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await district(factory)
    a, b, coordinator = w["a"], w["b"], w["coordinator"]
    today = local_today()
    homes = [await make_household(factory, DONG) for _ in range(3)]
    soon = await make_visit(factory, homes[0], [a.user], window_start=at_day(today), window_end=at_day(today, 23))
    later = await make_visit(
        factory, homes[1], [a.user], window_start=at_day(today + timedelta(days=7)), window_end=at_day(today, 23)
    )
    plan = await make_plan(factory, homes[2], a, today + timedelta(days=10))
    case = await make_case(factory, homes[2], a)  # undated: stays when `from` is given

    r = await _reassign(
        client, coordinator, a, to=[b.id], kinds=["visits"], **{"from": (today + timedelta(days=3)).isoformat()}
    )
    assert r.status_code == 200, r.text
    assert [(i["kind"], i["id"]) for i in r.json()["items"]] == [("visits", str(later.id))]
    assert set(await _team(factory, soon.id)) == {a.id}
    assert set(await _team(factory, later.id)) == {b.id}
    assert r.json()["remaining"]["visits"] == 1
    assert r.json()["remaining"]["monitoring"] == 1

    r = await _reassign(client, coordinator, a, to=[b.id], **{"from": today.isoformat()})
    assert r.status_code == 200, r.text
    moved = {(i["kind"], i["id"]) for i in r.json()["items"]}
    assert moved == {("visits", str(soon.id)), ("monitoring", str(plan.id))}
    assert r.json()["remaining"]["cases"] == 1
    [row] = await fetch(factory, Case, Case.id == case.id)
    assert row.manager_id == a.id


async def test_a_joint_visit_keeps_a_private_member_and_nothing_moves_when_something_cannot(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    w = await district(factory)
    a, b, p, coordinator = w["a"], w["b"], w["p"], w["coordinator"]
    q = await factory.actor(Role.partner, w["centre"])
    home, other = await make_household(factory, DONG), await make_household(factory, DONG)
    joint = await make_visit(factory, home, [a.user, p.user], purpose="joint_consultation")
    plain = await make_visit(factory, other, [p.user])

    # B (public) may take the plain visit but not P's place in the joint one: nothing moves
    r = await _reassign(client, coordinator, p, to=[b.id])
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["type"].endswith("/problems/reassign-unplaced")
    assert body["unplaced"] == [{"kind": "visits", "id": str(joint.id), "dong_code": DONG}]
    assert body["unplaced_counts"]["visits"] == 1
    assert set(await _team(factory, plain.id)) == {p.id}

    # with Q (private) too: the joint visit goes to Q even though B holds less
    r = await _reassign(client, coordinator, p, to=[b.id, q.id])
    assert r.status_code == 200, r.text
    assert set(await _team(factory, joint.id)) == {a.id, q.id}
    assert {i["id"]: i["to"] for i in r.json()["items"]}[str(joint.id)] == str(q.id)


async def test_who_may_reassign_to_whom(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await district(factory)
    a, b, coordinator = w["a"], w["b"], w["coordinator"]
    inactive = await factory.actor(Role.planner, w["org"])
    async with factory.maker() as s:
        row = await s.get(User, inactive.id)
        assert row is not None
        row.active = False
        await s.commit()
    assert (await _reassign(client, a, b, to=[w["c"].id])).status_code == 403
    r = await _reassign(client, coordinator, a, to=[a.id, w["far"].id, inactive.id, b.id, b.id])
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.to.0", "body.to.1", "body.to.2", "body.to.4"]
    r = await _reassign(client, coordinator, a, to=[b.id], kinds=["letters"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.kinds"
    assert (await _reassign(client, coordinator, w["far"], to=[b.id])).status_code == 404
    r = await client.post(f"/v1/users/{uuid.uuid4()}/reassign", json={"to": [str(b.id)]}, headers=coordinator.headers)
    assert r.status_code == 404
    r = await client.post(f"/v1/users/{a.id}/reassign", json={"to": []}, headers=coordinator.headers)
    assert r.status_code == 422


def _mutation(entity: str, op: str, record_id: uuid.UUID, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": entity,
        "op": op,
        "id": str(record_id),
        "base_version": None,
        "data": data,
        "at": at.isoformat(),
    }


async def test_reassignment_while_the_leavers_phone_is_offline(client: httpx.AsyncClient, factory: Factory) -> None:
    """A planner and a partner work offline; their visits move to others meanwhile. When the phones come back,
    what they push for the moved visits follows the rules (a planner's check-in is rejected, their note is kept;
    a partner's note is rejected), and their next pull revokes the moved visits and households while the
    receivers' phones get them."""
    w = await district(factory)
    a, b, p, coordinator = w["a"], w["b"], w["p"], w["coordinator"]
    q = await factory.actor(Role.partner, w["centre"])
    homes = [await make_household(factory, DONG) for _ in range(3)]
    for h in homes:
        await make_consent(factory, h, coordinator.user, organization=w["centre"])
    v0 = await make_visit(factory, homes[0], [a.user])
    v1 = await make_visit(factory, homes[1], [a.user, p.user], purpose="joint_consultation")
    yesterday = local_today() - timedelta(days=1)
    kept = await make_visit(  # late, from yesterday: not selected by `from` below, stays A's
        factory, homes[2], [a.user], window_start=at_day(yesterday), window_end=at_day(local_today(), 23)
    )

    task = await make_task(factory, homes[0], a, at_day(local_today(), 20))  # a winter check, where installed

    phones = {x: Phone(client, actor) for x, actor in (("a", a), ("b", b), ("p", p), ("q", q))}
    for phone in phones.values():
        await phone.sync()
    assert phones["a"].ids("visit") == {str(v0.id), str(v1.id), str(kept.id)}
    if task is not None:
        assert phones["a"].ids("task") == {str(task.id)}
    assert phones["p"].ids("visit") == {str(v1.id)}
    assert phones["b"].ids("visit") == set()
    assert str(homes[1].id) in phones["p"].ids("household")

    # the phones of A and P go offline; meanwhile the coordinator moves A's visits from today on to B, and P's to Q
    offline_at = datetime.now(UTC)
    r = await _reassign(client, coordinator, a, to=[b.id], **{"from": local_today().isoformat()})
    assert r.status_code == 200, r.text
    assert {i["id"] for i in r.json()["items"]} == {str(v0.id), str(v1.id)} | ({str(task.id)} if task else set())
    r = await _reassign(client, coordinator, p, to=[q.id])
    assert r.status_code == 200, r.text
    assert set(await _team(factory, v1.id)) == {b.id, q.id}

    # A's phone comes back and pushes what it did offline
    note_a = uuid.uuid4()
    results = await _push(
        client,
        a,
        [
            _mutation("visit", "transition", v0.id, {"to": "in_progress"}, offline_at),
            _mutation(
                "note", "upsert", note_a, {"visit_id": str(v0.id), "body": "문 앞에서 대화, 난방 끊김"}, offline_at
            ),
        ],
    )
    assert [x["status"] for x in results] == ["rejected", "applied"]
    assert results[0]["error"]["status"] == 404  # not on the team any more: the visit's state is B's to set
    [visit] = await fetch(factory, Visit, Visit.id == v0.id)
    assert visit.status == "scheduled"
    [note] = await fetch(factory, Note, Note.id == note_a)
    assert (note.author_id, note.visit_id) == (a.id, v0.id)  # what A saw is kept, authored by A

    # P's phone: a partner no longer reaches the household of a visit it left
    results = await _push(
        client,
        p,
        [
            _mutation(
                "note", "upsert", uuid.uuid4(), {"visit_id": str(v1.id), "body": "후원 물품 전달 예정"}, offline_at
            )
        ],
    )
    assert [x["status"] for x in results] == ["rejected"]

    # their pulls revoke what moved; the receivers' pulls bring it
    changes = await phones["a"].sync()
    revoked = {(c["entity"], c["id"]) for c in changes if c["op"] == "revoke"}
    assert {("visit", str(v0.id)), ("visit", str(v1.id))} <= revoked
    assert phones["a"].ids("visit") == {str(kept.id)}
    assert phones["a"].ids("household") == {str(homes[2].id)}
    changes = await phones["p"].sync()
    assert ("visit", str(v1.id)) in {(c["entity"], c["id"]) for c in changes if c["op"] == "revoke"}
    assert phones["p"].ids("visit") == set()
    assert str(homes[1].id) not in phones["p"].ids("household")
    if task is not None:
        assert ("task", str(task.id)) in revoked
        assert phones["a"].ids("task") == set()
    await phones["b"].sync()
    assert {str(v0.id), str(v1.id)} <= phones["b"].ids("visit")
    if task is not None:
        assert phones["b"].ids("task") == {str(task.id)}
    assert {str(homes[0].id), str(homes[1].id)} <= phones["b"].ids("household")
    await phones["q"].sync()
    assert phones["q"].ids("visit") == {str(v1.id)}
    assert str(homes[1].id) in phones["q"].ids("household")


async def test_an_organization_whose_people_hold_open_work_is_not_deactivated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    w = await district(factory)
    admin = await factory.actor(Role.admin, w["org"])
    home = await make_household(factory, DONG)
    visit = await make_visit(factory, home, [w["p"].user], purpose="follow_up")
    centre = w["centre"].id
    r = await client.patch(f"/v1/organizations/{centre}", json={"active": False}, headers=admin.headers)
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith("/problems/open-work")
    assert r.json()["open"]["visits"] == 1
    assert (await _reassign(client, w["coordinator"], w["p"], to=[w["b"].id])).status_code == 200
    assert set(await _team(factory, visit.id)) == {w["b"].id}
    r = await client.patch(f"/v1/organizations/{centre}", json={"active": False}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False


async def test_a_case_manager_handing_over_to_a_team_member(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await district(factory)
    a, b, p = w["a"], w["b"], w["p"]
    home = await make_household(factory, DONG)
    case = await make_case(factory, home, a, [b, p])
    # P (private) may take a member's place but never the manager's: the case goes to B, already on the team
    r = await _reassign(client, w["coordinator"], a, to=[p.id, b.id])
    assert r.status_code == 200, r.text
    assert [(i["kind"], i["to"]) for i in r.json()["items"]] == [("cases", str(b.id))]
    [row] = await fetch(factory, Case, Case.id == case.id)
    assert (row.manager_id, row.version) == (b.id, 2)
    members = await fetch(factory, CaseMember, CaseMember.case_id == case.id, CaseMember.ended_at.is_(None))
    assert {(m.user_id, m.role_note) for m in members} == {(b.id, "manager"), (p.id, None)}


async def test_two_reassignments_at_once_never_give_a_visit_twice(db_kind: str, tmp_path: Any) -> None:
    """Committed for real on a database of its own: two coordinators move the same leaver's visits to two
    different people at the same moment. Each visit ends with exactly one of them; the later request either
    finds nothing left (SQLite's one writer) or fails on the rows the first one changed (PostgreSQL)."""
    import asyncio

    from app.auth.models import Organization
    from app.core.principal import OrgKind, Principal
    from app.core.uow import open_session
    from app.households.models import Household
    from app.work import service
    from app.work.schemas import Reassign
    from tests.support.live import own_app

    async with own_app(db_kind, tmp_path) as app:
        maker = app.state.ongi.sessionmaker
        async with open_session(maker, write=True) as s:
            org = Organization(name="동 행정복지센터", kind=OrgKind.public, jurisdiction=["11990"])
            s.add(org)
            await s.flush()
            a, b, c, boss = (
                User(organization_id=org.id, username=f"u{i}", display_name=f"u{i}", role=role)
                for i, role in enumerate((Role.planner, Role.planner, Role.planner, Role.coordinator))
            )
            s.add_all([a, b, c, boss])
            homes = [Household(district_code="11990", dong_code=DONG, address=f"a{i}", head_name="h") for i in range(3)]
            s.add_all(homes)
            await s.flush()
            now = datetime.now(UTC)
            visits = [
                Visit(household_id=h.id, dong_code=DONG, purpose="assessment", window_start=now, window_end=now)
                for h in homes
            ]
            s.add_all(visits)
            await s.flush()
            s.add_all(VisitAssignee(visit_id=v.id, user_id=a.id, organization_id=org.id, lead=True) for v in visits)
        principal = Principal(
            user_id=boss.id,
            username=boss.username,
            role=Role.coordinator,
            organization_id=org.id,
            org_kind=OrgKind.public,
            jurisdiction=("11990",),
        )
        gate = asyncio.Event()

        async def move(to: User) -> str:
            try:
                async with open_session(maker, write=True) as s:
                    await gate.wait()
                    done = await service.reassign(s, principal, a.id, Reassign(to=[to.id]))
                return f"moved {done.moved.total}"
            except Exception as exc:
                return type(exc).__name__

        tasks = [asyncio.create_task(move(b)), asyncio.create_task(move(c))]
        await asyncio.sleep(0.05)
        gate.set()
        results = sorted(await asyncio.wait_for(asyncio.gather(*tasks), timeout=30))
        assert results[1] == "moved 3", results
        assert results[0] in ("moved 0", "StaleDataError", "IntegrityError"), results
        async with maker() as s:
            for v in visits:
                team = list(
                    (
                        await s.execute(
                            select(VisitAssignee.user_id).where(
                                VisitAssignee.visit_id == v.id, VisitAssignee.ended_at.is_(None)
                            )
                        )
                    ).scalars()
                )
                assert len(team) == 1
                assert team[0] in (b.id, c.id)
            events = (await s.execute(select(OutboxEvent).where(OutboxEvent.type == "work.reassigned"))).scalars()
            assert len(list(events)) == 3
