"""Tasks on the phone (docs/winter.md): a cold-wave alert worked by three offline phones whose tasks converge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.core.db import utcnow
from app.core.principal import Role
from tests.support.factories import Factory, make_household
from tests.support.sync import Phone
from tests.support.sync import push as _push


def _complete(task_id: str, outcome: str, note: str | None = None, mutation_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"outcome": outcome}
    if note is not None:
        data["note"] = note
    return {
        "mutation_id": mutation_id or str(uuid.uuid4()),
        "entity": "task",
        "op": "complete",
        "id": task_id,
        "data": data,
        "at": datetime.now(UTC).isoformat(),
    }


def _tasks(phone: Phone) -> dict[str, dict[str, Any]]:
    return {eid: rec["data"] for (entity, eid), rec in phone.store.items() if entity == "task"}


async def test_cold_wave_worked_by_three_offline_phones_converges(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    kim = await factory.user(Role.planner, org, jurisdiction=["1199051000"])
    lee = await factory.user(Role.planner, org, jurisdiction=["1199051000"])
    kim_phone = await factory.login(kim, org)
    kim_tablet = await factory.login(kim, org)  # the same worker's second device
    lee_phone = await factory.login(lee, org)
    for _ in range(6):
        await make_household(factory, risk_level="high")
    now = utcnow()
    r = await client.post(
        "/v1/alerts",
        json={
            "kind": "cold_wave",
            "dong_codes": ["1199051000"],
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "criteria": {"risk_levels": ["high"], "tags": ["elderly", "single_person"]},
            "due_hours": 12,
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    alert_id = r.json()["id"]

    phones = [Phone(client, kim_phone), Phone(client, kim_tablet), Phone(client, lee_phone)]
    for phone in phones:
        await phone.sync()
    kims, lees = _tasks(phones[0]), _tasks(phones[2])
    assert len(kims) == 3
    assert len(lees) == 3
    assert _tasks(phones[1]) == kims
    first = next(iter(kims.values()))
    assert set(first) >= {"id", "version", "household_id", "alert_id", "kind", "due_at", "status", "outcome"}
    assert (first["alert_id"], first["kind"], first["status"], first["outcome"]) == (
        alert_id,
        "alert_check",
        "open",
        None,
    )
    # the check can be made with no signal: who, where, which number
    household = first["target"]
    assert household["kind"] == "household"
    assert household["contact_phone"].startswith("010-")
    assert household["address"]
    t1, t2, t3 = sorted(kims)
    l1, l2, l3 = sorted(lees)

    # Offline, each phone works its list; the two devices of one worker both complete t1.
    tablet = await _push(client, kim_tablet, [_complete(t1, "unreachable", "부재"), _complete(t3, "hospitalised")])
    assert [x["status"] for x in tablet] == ["applied", "applied"]
    phone = await _push(client, kim_phone, [_complete(t1, "reached_by_phone"), _complete(t2, "visited", "난방 확인")])
    assert [x["status"] for x in phone] == ["conflict", "applied"]
    assert phone[0]["server"]["outcome"] == "unreachable"  # the first completion stands
    assert phone[0]["device"] == {"outcome": "reached_by_phone", "note": None}
    retry_id = str(uuid.uuid4())
    lee_results = await _push(
        client,
        lee_phone,
        [_complete(l1, "reached_by_phone", mutation_id=retry_id), _complete(l2, "moved"), _complete(l3, "visited")],
    )
    assert [x["status"] for x in lee_results] == ["applied"] * 3
    again = await _push(client, lee_phone, [_complete(l1, "reached_by_phone", mutation_id=retry_id)])
    assert again[0]["status"] == "duplicate"
    # one worker cannot complete another's task
    foreign = await _push(client, lee_phone, [_complete(t2, "visited")])
    assert foreign[0]["status"] == "rejected"

    for p in phones:
        await p.sync()  # checks the phone's checksum against the server's
    kims = _tasks(phones[0])
    assert _tasks(phones[1]) == kims
    assert {t: (kims[t]["status"], kims[t]["outcome"]) for t in (t1, t2, t3)} == {
        t1: ("done", "unreachable"),
        t2: ("done", "visited"),
        t3: ("done", "hospitalised"),
    }
    assert kims[t1]["note"] == "부재"
    assert {d["status"] for d in _tasks(phones[2]).values()} == {"done"}

    summary = (await client.get(f"/v1/alerts/{alert_id}/summary", headers=coordinator.headers)).json()
    assert (summary["total"], summary["done"], summary["open"], summary["overdue"]) == (6, 6, 0, 0)
    assert summary["by_outcome"] == {
        "hospitalised": 1,
        "moved": 1,
        "reached_by_phone": 1,
        "unreachable": 1,
        "visited": 2,
    }


async def test_a_pushed_completion_with_bad_data_is_rejected(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    await make_household(factory, risk_level="high")
    now = utcnow()
    r = await client.post(
        "/v1/alerts",
        json={
            "kind": "heavy_snow",
            "dong_codes": ["1199051000"],
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "due_hours": 6,
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    phone = Phone(client, planner)
    await phone.sync()
    (task_id,) = _tasks(phone)
    results = await _push(
        client,
        planner,
        [
            _complete(task_id, "fine"),
            {**_complete(task_id, "visited"), "data": {"outcome": "visited", "photo": "x"}},
            _complete(str(uuid.uuid4()), "visited"),
        ],
    )
    assert [x["status"] for x in results] == ["rejected", "rejected", "rejected"]
    assert _tasks(phone)[task_id]["status"] == "open"


async def test_three_reference_client_phones_work_an_alert_offline_and_converge(
    app: object, client: httpx.AsyncClient, factory: Factory, tmp_path: Any
) -> None:
    """The reference client (ongi_client) on three phones: each completes its tasks offline, two of them the same
    task; after they sync in any order every phone holds the server's state and the summary counts it."""
    from ongi_client import SyncClient
    from tests.support.factories import PASSWORD

    org = await factory.org(jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    park = await factory.user(Role.planner, org, jurisdiction=["1199051000"])
    choi = await factory.user(Role.planner, org, jurisdiction=["1199051000"])
    for _ in range(4):
        await make_household(factory, risk_level="critical")
    now = utcnow()
    r = await client.post(
        "/v1/alerts",
        json={
            "kind": "cold_wave",
            "dong_codes": ["1199051000"],
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "criteria": {"risk_levels": ["critical"]},
            "due_hours": 8,
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    phones = []
    for user, name in ((park, "park-phone"), (park, "park-tablet"), (choi, "choi-phone")):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")  # type: ignore[arg-type]
        phone = SyncClient(tmp_path / f"{name}.db", http, device_id=name, device_name=name)
        await phone.login(user.username, PASSWORD)
        await phone.sync()
        phones.append(phone)
    a, b, c = phones
    parks = sorted(t["id"] for t in a.all("task"))
    chois = sorted(t["id"] for t in c.all("task"))
    assert len(parks) == 2
    assert len(chois) == 2
    assert sorted(t["id"] for t in b.all("task")) == parks
    # offline: both of park's devices complete his first task, each differently
    a.complete_task(parks[0], "visited", "난방 점검")
    b.complete_task(parks[0], "reached_by_phone")
    b.complete_task(parks[1], "unreachable")
    for t in chois:
        c.complete_task(t, "reached_by_phone")
    await b.sync()
    await c.sync()
    report = await a.sync()
    assert [x["status"] for x in report.results] == ["conflict"]
    assert report.results[0]["server"]["outcome"] == "reached_by_phone"
    await b.sync()
    for phone in phones:
        assert {t["status"] for t in phone.all("task")} == {"done"}
    assert {t["id"]: t["outcome"] for t in a.all("task")} == {t["id"]: t["outcome"] for t in b.all("task")}
    assert a.get("task", parks[0])["outcome"] == "reached_by_phone"  # the first completion stands everywhere
    summary = (await client.get(f"/v1/alerts/{r.json()['id']}/summary", headers=coordinator.headers)).json()
    assert (summary["done"], summary["open"]) == (4, 0)
    for phone in phones:
        await phone.http.aclose()


async def test_a_partners_task_names_no_household_on_the_phone_or_over_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    from app.core.uow import commit
    from app.winter.tasks import create_task

    partner = await factory.actor(Role.partner)
    household = await make_household(factory)
    async with factory.maker() as s:
        task = await create_task(
            s,
            assignee_id=partner.id,
            kind="alert_check",
            due_at=utcnow() + timedelta(hours=4),
            household_id=household.id,
        )
        await commit(s)
    phone = Phone(client, partner)
    await phone.sync()
    held = _tasks(phone)[str(task.id)]
    assert held["target"] is None
    assert held["household_id"] is None  # no consent: not even which household (as a visit's restricted view)
    rest = (await client.get(f"/v1/tasks/{task.id}", headers=partner.headers)).json()
    assert (rest["target"], rest["household_id"]) == (None, None)


async def test_cases_and_households_on_the_phone_carry_their_clock(client: httpx.AsyncClient, factory: Factory) -> None:
    from app.cases.models import Case
    from app.core.uow import commit
    from app.households.clocks import end_of_day, local_date

    org = await factory.org(jurisdiction=["11990"])
    planner = await factory.actor(Role.planner, org)
    household = await make_household(factory)
    now = utcnow()
    due_on = local_date(now) + timedelta(days=3)
    async with factory.maker() as s:
        case = Case(
            household_id=household.id,
            dong_code=household.dong_code,
            manager_id=planner.id,
            stage_started_at=now,
            opened_at=now,
            next_due_on=due_on,
        )
        s.add(case)
        await commit(s)
    phone = Phone(client, planner)
    await phone.sync()
    held = phone.store[("case", str(case.id))]["data"]
    assert datetime.fromisoformat(held["due_at"].replace("Z", "+00:00")) == end_of_day(due_on)
    assert held["deadline_state"] == "on_track"
    home = phone.store[("household", str(household.id))]["data"]
    assert set(home) >= {"due_at", "deadline_state"}
