"""Facilities on the inspector's phone, and an urgent winter inspection's follow-up (docs/winter.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from app.events.models import OutboxEvent
from tests.support.checklists import builtin_templates, make_facility, make_facility_visit, staff
from tests.support.factories import Factory
from tests.support.sync import Phone
from tests.support.sync import push as _push

FACILITY_PIN = [{"key": "winter_facility_safety", "version": 1}]

#: heating, gas and extinguishers hazardous: 9 points, the "urgent" band (8 or more)
URGENT = {
    "heating_system": "hazardous",
    "gas_safety": "hazardous",
    "co_alarm": "good",
    "fire_extinguishers": "hazardous",
    "fire_alarm_sprinkler": "good",
    "electric_heaters": "not_applicable",
    "frozen_pipes": "good",
    "snow_removal": "good",
    "emergency_exits": "good",
    "emergency_contacts": "good",
    "cold_wave_care": "good",
    "indoor_temperature": 12,
    "corrective_action": "보일러 가동 중지, 가스 밸브 잠금, 소화기 교체 요청",
}


def _response(response_id: uuid.UUID, visit_id: uuid.UUID, answers: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": "checklist_response",
        "op": "upsert",
        "id": str(response_id),
        "base_version": 0,
        "data": {
            "visit_id": str(visit_id),
            "template_key": "winter_facility_safety",
            "template_version": 1,
            "answers": {k: {"value": v} for k, v in answers.items()},
            **kw,
        },
        "at": datetime.now(UTC).isoformat(),
    }


async def test_facilities_of_the_inspectors_visits_reach_the_phone(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    await builtin_templates(factory)
    facility = await make_facility(factory)
    other = await make_facility(factory)
    await make_facility_visit(factory, facility, [s.planner.user, s.partner.user], checklists=FACILITY_PIN)
    await make_facility_visit(factory, other, [s.planner2.user], checklists=FACILITY_PIN)

    for actor in (s.planner, s.partner):
        phone = Phone(client, actor)
        await phone.sync()
        assert phone.ids("facility") == {str(facility.id)}
        data = phone.store[("facility", str(facility.id))]["data"]
        assert (data["name"], data["kind"], data["address"], data["capacity"]) == (
            "온기경로당",
            "senior_center",
            "온기로 1",
            None,
        )
        assert data["last_inspected_at"] is None
    phone2 = Phone(client, s.planner2)
    await phone2.sync()
    assert phone2.ids("facility") == {str(other.id)}


async def test_an_urgent_inspection_done_offline_creates_one_follow_up_and_event(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    from app.winter.models import Task

    s = await staff(factory)
    await builtin_templates(factory)
    facility = await make_facility(factory)
    visit = await make_facility_visit(factory, facility, [s.planner.user, s.partner.user], checklists=FACILITY_PIN)
    phone = Phone(client, s.partner)
    await phone.sync()
    before = phone.store[("facility", str(facility.id))]["version"]

    response_id = uuid.uuid4()
    answers = URGENT | {"hazard_photo": [str(uuid.uuid4())]}
    results = await _push(client, s.partner, [_response(response_id, visit.id, answers, completed=True)])
    assert results[0]["status"] == "applied", results
    # saved again (a note added after the fact): still one follow-up, one event
    again = _response(response_id, visit.id, {"inspector_notes": "관리인 부재"})
    again["base_version"] = results[0]["version"]
    assert (await _push(client, s.partner, [again]))[0]["status"] == "applied"

    async with factory.maker() as sess:
        tasks = list((await sess.execute(select(Task).where(Task.facility_id == facility.id))).scalars())
        events = list(
            (
                await sess.execute(
                    select(OutboxEvent).where(OutboxEvent.type == "facility.urgent").order_by(OutboxEvent.seq)
                )
            ).scalars()
        )
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.kind.value, task.source.value, task.assignee_id) == (
        "facility_follow_up",
        "facility_inspection",
        s.planner.user.id,  # the visit's first member (no lead set): the public planner
    )
    mine = [e for e in events if e.payload["facility_id"] == str(facility.id)]
    assert len(mine) == 1
    assert mine[0].payload["task_id"] == str(task.id)
    assert mine[0].payload["visit_id"] == str(visit.id)
    assert mine[0].payload["score"] == 9

    await phone.sync()
    held = phone.store[("facility", str(facility.id))]
    assert held["version"] > before
    assert held["data"]["last_inspection_urgent"] is True
    assert held["data"]["last_inspection_visit_id"] == str(visit.id)
    assert held["data"]["last_inspected_at"] is not None
    rest = await client.get(f"/v1/facilities/{facility.id}", headers=s.coordinator.headers)
    assert rest.json()["last_inspection_urgent"] is True
    # the follow-up reaches its assignee's phone (app.winter's task entity)
    lead = Phone(client, s.planner)
    await lead.sync()
    assert str(task.id) in lead.ids("task")
    assert lead.store[("task", str(task.id))]["data"]["facility_id"] == str(facility.id)


async def test_a_passing_inspection_records_the_date_and_creates_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    from app.winter.models import Task

    s = await staff(factory)
    await builtin_templates(factory)
    facility = await make_facility(factory)
    visit = await make_facility_visit(factory, facility, [s.planner.user], checklists=FACILITY_PIN)
    passing = {k: ("good" if v in ("hazardous",) else v) for k, v in URGENT.items() if k != "corrective_action"}
    passing["indoor_temperature"] = 21
    results = await _push(client, s.planner, [_response(uuid.uuid4(), visit.id, passing, completed=True)])
    assert results[0]["status"] == "applied", results
    async with factory.maker() as sess:
        assert list((await sess.execute(select(Task).where(Task.facility_id == facility.id))).scalars()) == []
    rest = (await client.get(f"/v1/facilities/{facility.id}", headers=s.coordinator.headers)).json()
    assert rest["last_inspection_urgent"] is False
    assert rest["last_inspection_visit_id"] == str(visit.id)
