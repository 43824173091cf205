"""Visits: teams, the state machine, check-in/out, overdue, a worker's day, household status rule, and
facilities (docs/data-model.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from app.core.db import utcnow
from app.core.errors import Problem
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.households.models import Household
from app.visits.models import Visit, VisitAssignee, VisitStatus, VisitTransition
from app.visits.service import transition_visit
from tests.support.factories import Factory, make_household
from tests.support.world import DONG_A, DONG_B, District, district, events, principal_of, window


async def _visit(client: httpx.AsyncClient, d: District, household_id: Any, **kw: Any) -> dict[str, Any]:
    body = {
        "household_id": str(household_id),
        "purpose": "assessment",
        "assignees": [str(d.planner.id), str(d.partner.id)],
        **window(),
    }
    body.update(kw)
    r = await client.post("/v1/visits", headers=d.coordinator.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_visit_and_team_rules(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    other = await district(factory, "11110")
    household = await make_household(factory, DONG_A)
    visit = await _visit(client, d, household.id, purpose="joint_consultation")
    assert visit["view"] == "full"
    assert visit["status"] == "scheduled"
    assert visit["overdue"] is False
    assert visit["assignees"] == [str(d.planner.id), str(d.partner.id)]
    assert visit["team"][0]["lead"] is True
    assert visit["team"][0]["organization_kind"] == "public"
    assert {m["organization_name"] for m in visit["team"]} == {d.public.name, d.private.name}
    assert visit["dong_code"] == DONG_A
    assert visit["household_id"] == str(household.id)

    h = d.coordinator.headers
    base = {"household_id": str(household.id), **window()}

    async def refused(**kw: Any) -> dict[str, Any]:
        r = await client.post("/v1/visits", headers=h, json={**base, **kw})
        assert r.status_code == 422, r.text
        return r.json()

    only_public = await refused(purpose="joint_consultation", assignees=[str(d.planner.id)])
    assert only_public["errors"][0]["field"] == "body.assignees"
    outsider = await refused(purpose="assessment", assignees=[str(other.planner.id)])
    assert outsider["errors"][0]["field"] == "body.assignees.0"
    await refused(purpose="assessment", assignees=[str(d.reporter.id)])
    await refused(purpose="assessment", assignees=[str(d.admin.id)])
    inactive = await factory.user(Role.planner, d.public, active=False)
    await refused(purpose="assessment", assignees=[str(inactive.id)])
    await refused(purpose="assessment", assignees=[str(d.planner.id), str(d.planner.id)])
    await refused(purpose="assessment", assignees=[])
    await refused(purpose="assessment", assignees=[str(d.planner.id)], lead_id=str(d.partner.id))
    await refused(purpose="assessment", assignees=[str(d.planner.id)], window_end=base["window_start"])
    await refused(purpose="safety_inspection", assignees=[str(d.planner.id)])
    await refused(purpose="assessment", assignees=[str(d.planner.id)], campaign_id=str(uuid.uuid4()))
    outside = await make_household(factory, DONG_B)
    await refused(purpose="assessment", assignees=[str(d.planner.id)], household_id=str(outside.id))
    await refused(purpose="assessment", assignees=[str(d.planner.id)], facility_id=str(uuid.uuid4()))
    # planners schedule too; partners, reporters and admins never
    planner_made = await client.post(
        "/v1/visits",
        headers=d.planner.headers,
        json={**base, "purpose": "follow_up", "assignees": [str(d.planner.id)]},
    )
    assert planner_made.status_code == 201
    for actor in (d.partner, d.reporter, d.admin, d.integration):
        r = await client.post(
            "/v1/visits", headers=actor.headers, json={**base, "purpose": "follow_up", "assignees": [str(d.planner.id)]}
        )
        assert r.status_code == 403


async def test_checklist_pins_are_validated_when_checklists_exist(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    table = SQLModel.metadata.tables.get("checklist_template")
    if table is None:
        pytest.skip("no checklist module")
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    now = utcnow()
    async with maker() as s:
        row = {
            "id": uuid.uuid4(),
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "key": f"t{uuid.uuid4().hex[:6]}",
            "template_version": 2,
            "status": "published",
            "title": {},
            "items": [],
            "bands": [],
            "builtin": False,
        }
        await s.execute(insert(table).values(**{k: v for k, v in row.items() if k in table.c}))
        await commit(s)
    ok = await _visit(
        client,
        d,
        household.id,
        checklists=[{"key": row["key"], "version": 2}],
        expected_photos=[{"key": "door", "label": "현관"}],
    )
    assert ok["checklists"] == [{"key": row["key"], "version": 2}]
    assert ok["expected_photos"] == [{"key": "door", "label": "현관"}]
    r = await client.post(
        "/v1/visits",
        headers=d.coordinator.headers,
        json={
            "household_id": str(household.id),
            "purpose": "assessment",
            "assignees": [str(d.planner.id)],
            "checklists": [{"key": row["key"], "version": 3}],
            **window(),
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.checklists.0"


async def test_transitions_check_in_out_and_household_status(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    visit = await _visit(client, d, household.id, purpose="follow_up")
    url = f"/v1/visits/{visit['id']}/transitions"
    device_in = (utcnow() - timedelta(minutes=3)).isoformat()
    started = await client.post(
        url,
        headers=d.planner.headers,
        json={"to": "in_progress", "at": device_in, "location": {"lat": 37.5, "lon": 127.0, "accuracy_m": 12}},
    )
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["status"] == "in_progress"
    assert body["checked_in_at"]
    assert body["checked_in_device_at"]
    assert body["checked_out_at"] is None

    illegal = await client.post(url, headers=d.planner.headers, json={"to": "scheduled"})
    assert illegal.status_code == 409
    assert illegal.json()["allowed"] == ["completed", "no_contact", "refused", "cancelled"]
    assert illegal.json()["type"].endswith("/illegal-transition")

    stale = await client.post(url, headers={**d.planner.headers, "If-Match": '"v1"'}, json={"to": "completed"})
    assert stale.status_code == 412
    done = await client.post(
        url,
        headers=d.planner.headers,
        json={"to": "completed", "outcome": "난방비 지원 연계 필요", "at": utcnow().isoformat()},
    )
    assert done.status_code == 200, done.text
    assert done.json()["checked_out_at"]
    assert done.json()["outcome"] == "난방비 지원 연계 필요"
    after = await client.post(url, headers=d.planner.headers, json={"to": "in_progress"})
    assert after.status_code == 409
    assert after.json()["allowed"] == []

    completed = await events(maker, "visit.completed", household.id)
    assert len(completed) == 1
    assert completed[0].payload["visit_id"] == visit["id"]
    assert completed[0].payload["household_status"] == "contacted"
    async with maker() as s:
        stored = await s.get(Household, household.id)
        assert stored is not None
        assert stored.status.value == "contacted"
        history = list(
            (
                await s.execute(select(VisitTransition).where(VisitTransition.visit_id == uuid.UUID(visit["id"])))
            ).scalars()
        )
    assert [(t.from_status, t.to_status) for t in history] == [
        ("scheduled", "in_progress"),
        ("in_progress", "completed"),
    ]
    assert history[0].location == {"lat": 37.5, "lon": 127.0, "accuracy_m": 12.0}
    assert history[0].device_at is not None

    listed = await client.get(f"/v1/visits/{visit['id']}/transitions", headers=d.coordinator.headers)
    assert [t["to_status"] for t in listed.json()["items"]] == ["in_progress", "completed"]
    assert listed.json()["items"][0]["location"]["lat"] == 37.5

    # an assessment visit moves the household on to assessed
    assessment = await _visit(client, d, household.id, purpose="assessment")
    a_url = f"/v1/visits/{assessment['id']}/transitions"
    await client.post(a_url, headers=d.planner.headers, json={"to": "in_progress"})
    await client.post(a_url, headers=d.planner.headers, json={"to": "completed"})
    async with maker() as s:
        stored = await s.get(Household, household.id)
        assert stored is not None
        assert stored.status.value == "assessed"
    # a visit that reached no one changes nothing
    fresh = await make_household(factory, DONG_A)
    nobody = await _visit(client, d, fresh.id, purpose="identification")
    r = await client.post(
        f"/v1/visits/{nobody['id']}/transitions", headers=d.planner.headers, json={"to": "no_contact"}
    )
    assert r.json()["checked_out_at"] is not None
    assert r.json()["checked_in_at"] is None
    async with maker() as s:
        assert (await s.get(Household, fresh.id)).status.value == "identified"  # type: ignore[union-attr]


async def test_who_may_transition(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    visit = await _visit(client, d, household.id, assignees=[str(d.planner.id)])
    url = f"/v1/visits/{visit['id']}/transitions"
    # a partner not on the team does not even see the visit
    assert (await client.post(url, headers=d.partner.headers, json={"to": "in_progress"})).status_code == 404
    team = await _visit(client, d, household.id, assignees=[str(d.planner.id), str(d.partner.id)])
    t_url = f"/v1/visits/{team['id']}/transitions"
    assert (await client.post(t_url, headers=d.partner.headers, json={"to": "cancelled"})).status_code == 403
    assert (await client.post(t_url, headers=d.integration.headers, json={"to": "in_progress"})).status_code == 403
    cancel = await client.post(t_url, headers=d.coordinator.headers, json={"to": "cancelled", "reason": "입원"})
    assert cancel.status_code == 200
    assert cancel.json()["cancel_reason"] == "입원"
    bad_location = await client.post(
        url, headers=d.planner.headers, json={"to": "in_progress", "location": {"lat": 91, "lon": 0}}
    )
    assert bad_location.status_code == 422

    # the reusable function used by sync push
    async with maker() as s:
        v = await s.get(Visit, uuid.UUID(visit["id"]))
        assert v is not None
        with pytest.raises(Problem) as exc:
            await transition_visit(
                s, principal_of(d.planner), v, VisitStatus.completed, outcome=None, device_at=None, location=None
            )
        assert exc.value.status == 409
        assert exc.value.extra["allowed"] == [
            "in_progress",
            "no_contact",
            "refused",
            "cancelled",
        ]
        with pytest.raises(Problem) as bad:
            await transition_visit(
                s,
                principal_of(d.planner),
                v,
                VisitStatus.in_progress,
                outcome=None,
                device_at=None,
                location={"lat": "north"},
            )
        assert bad.value.status == 422
        moved = await transition_visit(
            s, principal_of(d.planner), v, VisitStatus.in_progress, outcome=None, device_at=utcnow(), location=None
        )
        assert moved.status == VisitStatus.in_progress
        assert moved.checked_in_device_at is not None
        await commit(s)


async def test_overdue_and_a_workers_day(client: httpx.AsyncClient, factory: Factory, app: object) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    late = await _visit(client, d, household.id, assignees=[str(d.planner.id)], **window(-30, 4))
    today = await _visit(client, d, household.id, assignees=[str(d.planner.id)], **window(0.5, 2))
    tomorrow = await _visit(client, d, household.id, assignees=[str(d.planner.id)], **window(30, 2))
    theirs = await _visit(client, d, household.id, assignees=[str(d.coordinator.id)], **window(0.5, 2))
    assert late["overdue"] is True
    assert today["overdue"] is False
    h = d.planner.headers

    async def ids(**params: Any) -> list[str]:
        r = await client.get("/v1/visits", headers=h, params=params)
        assert r.status_code == 200, r.text
        return [v["id"] for v in r.json()["items"]]

    assert await ids(overdue="true") == [late["id"]]
    assert set(await ids(overdue="false")) == {today["id"], tomorrow["id"], theirs["id"]}
    assert await ids(assignee="me") == [late["id"], today["id"], tomorrow["id"]]
    assert theirs["id"] in await ids(assignee=str(d.coordinator.id))
    now = utcnow()
    start, end = now - timedelta(hours=1), now + timedelta(hours=4)
    assert await ids(assignee="me", **{"from": start.isoformat(), "to": end.isoformat()}) == [today["id"]]
    local_today = now.astimezone(app.state.ongi.settings.tz).date().isoformat()  # type: ignore[attr-defined]
    assert today["id"] in await ids(assignee="me", **{"from": local_today, "to": local_today})
    assert tomorrow["id"] not in await ids(assignee="me", **{"from": local_today, "to": local_today})
    assert await ids(assignee="me", status="completed") == []
    await client.post(f"/v1/visits/{late['id']}/transitions", headers=h, json={"to": "no_contact"})
    assert await ids(overdue="true") == []
    assert await ids(assignee="me", status=["no_contact", "scheduled"]) == [late["id"], today["id"], tomorrow["id"]]
    assert (await client.get("/v1/visits", headers=h, params={"from": "yesterday"})).status_code == 422
    assert (await client.get("/v1/visits", headers=h, params={"assignee": "you"})).status_code == 422
    page = await client.get("/v1/visits", headers=h, params={"assignee": "me", "limit": 2})
    more = await client.get(
        "/v1/visits", headers=h, params={"assignee": "me", "limit": 2, "cursor": page.json()["next_cursor"]}
    )
    assert [v["id"] for v in page.json()["items"] + more.json()["items"]] == [late["id"], today["id"], tomorrow["id"]]


async def test_changing_the_team_ends_assignments(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    visit = await _visit(client, d, household.id)
    url = f"/v1/visits/{visit['id']}"
    assert (await client.get(url, headers=d.partner.headers)).status_code == 200
    stale = await client.put(
        f"{url}/assignees",
        headers={**d.coordinator.headers, "If-Match": '"v99"'},
        json={"assignees": [str(d.planner.id)]},
    )
    assert stale.status_code == 412
    r = await client.put(f"{url}/assignees", headers=d.coordinator.headers, json={"assignees": [str(d.planner.id)]})
    assert r.status_code == 200, r.text
    assert r.json()["assignees"] == [str(d.planner.id)]
    assert r.json()["version"] > visit["version"]
    assert (await client.get(url, headers=d.partner.headers)).status_code == 404
    async with maker() as s:
        rows = {
            a.user_id: a
            for a in (
                await s.execute(select(VisitAssignee).where(VisitAssignee.visit_id == uuid.UUID(visit["id"])))
            ).scalars()
        }
    assert rows[d.partner.id].ended_at is not None
    assert rows[d.planner.id].ended_at is None

    # PATCH with assignees brings the partner back on the same row, as lead
    back = await client.patch(
        url,
        headers=d.coordinator.headers,
        json={"assignees": [str(d.planner.id), str(d.partner.id)], "lead_id": str(d.partner.id)},
    )
    assert back.status_code == 200, back.text
    assert back.json()["team"][0]["user_id"] == str(d.partner.id)
    assert back.json()["team"][0]["lead"] is True
    async with maker() as s:
        count = len(
            (await s.execute(select(VisitAssignee).where(VisitAssignee.visit_id == uuid.UUID(visit["id"])))).all()
        )
    assert count == 2
    assert (await client.get(url, headers=d.partner.headers)).status_code == 200

    moved = await client.patch(url, headers=d.coordinator.headers, json={"window_end": visit["window_start"]})
    assert moved.status_code == 422
    bad_outcome = await client.patch(url, headers=d.coordinator.headers, json={"purpose": None})
    assert bad_outcome.status_code == 422
    await client.post(f"{url}/transitions", headers=d.planner.headers, json={"to": "refused"})
    finished = await client.patch(url, headers=d.coordinator.headers, json={"window_end": utcnow().isoformat()})
    assert finished.status_code == 409
    outcome = await client.patch(url, headers=d.coordinator.headers, json={"outcome": "방문 거부, 재방문 예정"})
    assert outcome.status_code == 200
    assert outcome.json()["outcome"] == "방문 거부, 재방문 예정"
    assert (
        await client.put(f"{url}/assignees", headers=d.coordinator.headers, json={"assignees": [str(d.planner.id)]})
    ).status_code == 409


async def test_facilities_and_safety_inspections(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    other = await district(factory, "11110")
    body = {
        "name": "온기경로당",
        "kind": "senior_center",
        "district_code": "11990",
        "dong_code": DONG_A,
        "address": "온기로 3",
        "capacity": 40,
    }
    created = await client.post("/v1/facilities", headers=d.coordinator.headers, json=body)
    assert created.status_code == 201, created.text
    facility = created.json()
    assert (
        await client.post("/v1/facilities", headers=d.admin.headers, json={**body, "name": "쉼터"})
    ).status_code == 201
    assert (await client.post("/v1/facilities", headers=d.planner.headers, json=body)).status_code == 403
    outside = await client.post(
        "/v1/facilities", headers=d.coordinator.headers, json={**body, "district_code": "11110", "dong_code": DONG_B}
    )
    assert outside.status_code == 422
    url = f"/v1/facilities/{facility['id']}"
    assert (await client.get(url, headers=d.partner.headers)).status_code == 200
    assert (await client.get(url, headers=other.coordinator.headers)).status_code == 404
    names = [f["name"] for f in (await client.get("/v1/facilities", headers=d.planner.headers)).json()["items"]]
    assert names == ["온기경로당", "쉼터"]
    patched = await client.patch(
        url, headers={**d.coordinator.headers, "If-Match": created.headers["etag"]}, json={"capacity": 45}
    )
    assert patched.status_code == 200
    assert patched.json()["capacity"] == 45
    assert (
        await client.patch(url, headers={**d.coordinator.headers, "If-Match": '"v1"'}, json={"capacity": 1})
    ).status_code == 412

    inspection = await client.post(
        "/v1/visits",
        headers=d.coordinator.headers,
        json={
            "facility_id": facility["id"],
            "purpose": "safety_inspection",
            "assignees": [str(d.partner.id)],
            **window(),
        },
    )
    assert inspection.status_code == 201, inspection.text
    # a facility is no household: the partner sees the full visit without any consent
    seen = await client.get(f"/v1/visits/{inspection.json()['id']}", headers=d.partner.headers)
    assert seen.json()["view"] == "full"
    assert seen.json()["facility_id"] == facility["id"]

    assert (await client.delete(url, headers=d.coordinator.headers)).status_code == 204
    assert (await client.get(url, headers=d.coordinator.headers)).json()["active"] is False
    again = await client.post(
        "/v1/visits",
        headers=d.coordinator.headers,
        json={
            "facility_id": facility["id"],
            "purpose": "safety_inspection",
            "assignees": [str(d.partner.id)],
            **window(),
        },
    )
    assert again.status_code == 422


async def test_public_org_partner_mismatch_is_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    far = await factory.org(OrgKind.private, ["11110"])
    far_partner = await factory.user(Role.partner, far)
    household = await make_household(factory, DONG_A)
    r = await client.post(
        "/v1/visits",
        headers=d.coordinator.headers,
        json={
            "household_id": str(household.id),
            "purpose": "joint_consultation",
            "assignees": [str(d.planner.id), str(far_partner.id)],
            **window(),
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.assignees.1"
