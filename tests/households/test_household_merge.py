"""Duplicates and merge (docs/winter.md, issue 18 item 2): candidates with reasons on create and on demand; a merge
that moves everything to the survivor in one transaction, answers 410 for the merged-away id, converges the
phones that held either, and an unmerge within 30 days that restores both."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.contacts.models import ContactAttempt
from app.core.db import utcnow
from app.core.principal import Role
from app.core.uow import commit
from app.households.duplicates import find_duplicates, find_duplicates_many
from app.households.merge import movable_models
from app.households.models import Household, HouseholdMerge, Signal
from app.households.search import household_keys
from app.notes.models import Note
from app.visits.models import Visit
from app.winter.models import Alert, Task
from app.winter.tasks import create_task
from tests.support.factories import Factory, make_consent, make_visit
from tests.support.sync import Phone
from tests.support.world import DONG_A, DONG_A2, DONG_B, district, events, household_body, principal_of


async def _create(client: httpx.AsyncClient, actor: Any, **kw: Any) -> dict[str, Any]:
    r = await client.post("/v1/households", headers=actor.headers, json=household_body(**kw))
    assert r.status_code == 201, r.text
    return r.json()


def _member(name: str, year: int, relation: str = "head") -> dict[str, Any]:
    return {"key": "m1", "name": name, "birth_year": year, "relation": relation, "tags": []}


# --- duplicates ------------------------------------------------------------------------------------------------


async def test_duplicates_on_create_and_on_demand_with_reasons(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    other = await district(factory, DONG_B[:5])
    c = d.coordinator
    first = await _create(
        client,
        c,
        head_name="김영희",
        address="서울특별시 온기구 온기로 123 (온기마을아파트)",
        address_detail="101동 1203호",
        contact_phone="010-2468-1357",
        members=[_member("김영희", 1947)],
    )
    assert first["duplicates"] == []
    # the same family from a police referral: another spelling of the address, the phone in +82 form
    second = await _create(
        client,
        c,
        head_name="김 영희",
        address="온기구 온기로123",
        address_detail="101-1203",
        contact_phone="+82 10 2468 1357",
        members=[_member("김영희", 1947)],
    )
    assert [(x["household"]["id"], x["reasons"]) for x in second["duplicates"]] == [
        (first["id"], ["same_phone", "same_address", "same_name_birth_year"])
    ]
    # a misheard surname, same birth year, another address: similar
    third = await _create(
        client, c, head_name="이영희", address="별빛로 9", contact_phone=None, members=[_member("이영희", 1947)]
    )
    assert {x["household"]["id"]: x["reasons"] for x in third["duplicates"]} == {
        first["id"]: ["similar_name_birth_year"],
        second["id"]: ["similar_name_birth_year"],
    }
    # not similar: another birth year, or another district the caller does not reach
    fourth = await _create(client, c, head_name="이영희", address="솔내로 1", members=[_member("이영희", 1980)])
    assert fourth["duplicates"] == []
    elsewhere = await _create(
        client, other.coordinator, dong=DONG_B, contact_phone="010-2468-1357", members=[_member("김영희", 1947)]
    )
    assert elsewhere["duplicates"] == []

    r = await client.get(f"/v1/households/{first['id']}/duplicates", headers=d.planner.headers)
    assert r.status_code == 200, r.text
    assert [(x["household"]["id"], x["reasons"]) for x in r.json()["items"]] == [
        (second["id"], ["same_phone", "same_address", "same_name_birth_year"]),
        (third["id"], ["similar_name_birth_year"]),
    ]
    assert (
        await client.get(f"/v1/households/{first['id']}/duplicates", headers=other.coordinator.headers)
    ).status_code == 404
    assert (await client.get(f"/v1/households/{first['id']}/duplicates", headers=d.partner.headers)).status_code == 403


# --- merge and unmerge -----------------------------------------------------------------------------------------


async def test_merge_of_households_held_by_two_workers_phones_converge_and_unmerge_restores(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    c = d.coordinator
    second_planner = await factory.actor(Role.planner, d.public)
    kept = await _create(
        client, c, head_name="박봄", address="온기로 7길 3", contact_phone=None, members=[_member("박봄", 1950)]
    )
    away = await _create(
        client,
        c,
        dong=DONG_A2,
        head_name="박 봄",
        address="온기로7길 3",
        contact_phone="010-3333-4444",
        members=[_member("박봄", 1950), {**_member("최겨울", 2012, "grandchild"), "key": "m2"}],
        tags=["child"],
        signal={"source": "resident_report", "indicators": ["heating_lack"], "observed_at": utcnow().isoformat()},
    )
    assert [x["household"]["id"] for x in away["duplicates"]] == [kept["id"]]
    async with maker() as s:
        kept_row = await s.get(Household, uuid.UUID(kept["id"]))
        away_row = await s.get(Household, uuid.UUID(away["id"]))
    await make_visit(factory, kept_row, [d.planner.user])
    visit_away = await make_visit(factory, away_row, [second_planner.user])
    await make_consent(factory, away_row, c.user)
    note = await client.post(
        "/v1/notes", headers=c.headers, json={"household_id": away["id"], "body": "이웃 신고: 난방 없음"}
    )
    assert note.status_code == 201, note.text

    one, two = Phone(client, d.planner), Phone(client, second_planner)
    await one.sync()
    await two.sync()
    assert kept["id"] in one.ids("household")
    assert away["id"] not in one.ids("household")
    assert away["id"] in two.ids("household")
    assert kept["id"] not in two.ids("household")

    # only coordinators (and admins) of the jurisdiction merge
    body = {"into": kept["id"], "reason": "같은 가구 (주소 표기 차이)"}
    url = f"/v1/households/{away['id']}/merge"
    assert (await client.post(url, headers=d.planner.headers, json=body)).status_code == 403
    outsider = await district(factory, DONG_B[:5])
    assert (await client.post(url, headers=outsider.coordinator.headers, json=body)).status_code == 404
    assert (await client.post(url, headers=c.headers, json={"into": away["id"]})).status_code == 422

    r = await client.post(url, headers=c.headers, json=body)
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["household_id"] == away["id"]
    assert merged["into"] == kept["id"]
    assert merged["moved"]["visit"] == 1
    assert merged["moved"]["signal"] == 1
    assert merged["moved"]["consent"] == 1
    assert merged["moved"]["note"] == 1
    assert merged["kept"] == {}

    gone = await client.get(f"/v1/households/{away['id']}", headers=c.headers)
    assert gone.status_code == 410
    assert gone.json()["type"].endswith("/problems/household-merged")
    assert gone.json()["merged_into"] == kept["id"]
    assert (await client.post(url, headers=c.headers, json=body)).status_code == 410
    survivor = (await client.get(f"/v1/households/{kept['id']}", headers=c.headers)).json()
    assert survivor["contact_phone"] == "010-3333-4444"  # filled from the other
    assert [m["name"] for m in survivor["members"]] == ["박봄", "최겨울"]
    assert "child" in survivor["tags"]
    async with maker() as s:
        assert (await s.get(Visit, visit_away.id)).household_id == kept_row.id  # type: ignore[union-attr]
        assert (await s.get(Visit, visit_away.id)).dong_code == DONG_A  # type: ignore[union-attr]
        signals = (await s.execute(select(Signal).where(Signal.household_id == kept_row.id))).scalars().all()
        assert len(signals) == 1
        notes = (await s.execute(select(Note).where(Note.household_id == kept_row.id))).scalars().all()
        assert len(notes) == 1
        merged_away = await s.get(Household, away_row.id)
        assert merged_away is not None
        assert merged_away.status == "closed"  # its own data is destroyed after the retention of closed ones
    found = await client.post("/v1/households/search", headers=c.headers, json={"q": "010-3333-4444"})
    assert [x["id"] for x in found.json()["items"]] == [kept["id"]]
    assert [e.payload["into"] for e in await events(maker, "household.merged")] == [kept["id"]]

    # both phones converge: the second worker's phone drops the merged-away household and gets the survivor
    await one.sync()
    await two.sync()
    assert away["id"] not in two.ids("household")
    assert kept["id"] in two.ids("household")
    assert two.store[("visit", str(visit_away.id))]["data"]["household_id"] == kept["id"]
    assert kept["id"] in one.ids("household")
    assert one.store[("household", kept["id"])]["version"] == survivor["version"]

    # unmerge: both households again, every moved row back, the survivor as it was
    r = await client.post(f"/v1/households/{away['id']}/unmerge", headers=c.headers, json={"reason": "다른 가구"})
    assert r.status_code == 200, r.text
    assert r.json()["unmerged_at"] is not None
    back = await client.get(f"/v1/households/{away['id']}", headers=c.headers)
    assert back.status_code == 200
    assert back.json()["status"] == away["status"]  # closed while merged away (retention), reopened as it was
    assert back.json()["dong_code"] == DONG_A2
    restored = (await client.get(f"/v1/households/{kept['id']}", headers=c.headers)).json()
    assert restored["contact_phone"] is None
    assert [m["name"] for m in restored["members"]] == ["박봄"]
    assert restored["tags"] == []
    async with maker() as s:
        visit = await s.get(Visit, visit_away.id)
        assert visit is not None
        assert visit.household_id == away_row.id
        assert visit.dong_code == DONG_A2
        assert len((await s.execute(select(Signal).where(Signal.household_id == away_row.id))).scalars().all()) == 1
    assert (await client.post(f"/v1/households/{away['id']}/unmerge", headers=c.headers, json={})).status_code == 404
    assert [e.payload["household_id"] for e in await events(maker, "household.unmerged")] == [away["id"]]

    await one.sync()
    await two.sync()
    assert away["id"] in two.ids("household")
    assert kept["id"] not in two.ids("household")
    assert two.store[("visit", str(visit_away.id))]["data"]["household_id"] == away["id"]
    assert kept["id"] in one.ids("household")
    assert away["id"] not in one.ids("household")


async def test_unmerge_only_within_30_days_and_admins_merge_by_jurisdiction(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    a = await _create(client, d.coordinator)
    b = await _create(client, d.coordinator)
    r = await client.post(f"/v1/households/{b['id']}/merge", headers=d.admin.headers, json={"into": a["id"]})
    assert r.status_code == 200, r.text
    assert "head_name" not in r.text  # an admin gets ids and counts, no household data
    async with maker() as s:
        record = (
            await s.execute(select(HouseholdMerge).where(HouseholdMerge.household_id == uuid.UUID(b["id"])))
        ).scalar_one()
        record.merged_at -= timedelta(days=31)
        record.unmerge_until = utcnow() - timedelta(days=1)
        await commit(s)
    late = await client.post(f"/v1/households/{b['id']}/unmerge", headers=d.coordinator.headers, json={})
    assert late.status_code == 409
    assert late.json()["type"].endswith("/problems/unmerge-expired")
    assert (await client.get(f"/v1/households/{b['id']}", headers=d.coordinator.headers)).status_code == 410


async def test_a_chain_of_merges_names_the_last_survivor(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    c = d.coordinator
    first, second, third = [await _create(client, c) for _ in range(3)]
    assert (
        await client.post(f"/v1/households/{first['id']}/merge", headers=c.headers, json={"into": second["id"]})
    ).status_code == 200
    assert (
        await client.post(f"/v1/households/{second['id']}/merge", headers=c.headers, json={"into": third["id"]})
    ).status_code == 200
    r = await client.get(f"/v1/households/{first['id']}", headers=c.headers)
    assert r.status_code == 410
    assert r.json()["merged_into"] == third["id"]
    # the first merge cannot be undone while its survivor is merged away
    refused = await client.post(f"/v1/households/{first['id']}/unmerge", headers=c.headers, json={})
    assert refused.status_code == 409
    assert refused.json()["merged_into"] == third["id"]


def test_every_table_hanging_on_a_household_moves() -> None:
    names = {cls.__table__.name for cls in movable_models()}
    assert {
        "signal",
        "visit",
        "note",
        "consent",
        "support",
        "care_case",
        "monitoring_plan",
        "checklist_response",
    } <= names
    assert {"photo", "crisis_report", "integration_import", "winter_task", "contact_attempt"} <= names
    assert not names & {"household", "household_sensitive", "household_search_key", "audit_event", "change_log"}


async def test_tasks_and_contact_attempts_move_unless_a_unique_rule_keeps_them(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    c = d.coordinator
    kept, away = await _create(client, c), await _create(client, c)
    kept_id, away_id = uuid.UUID(kept["id"]), uuid.UUID(away["id"])
    async with maker() as s:
        alert = Alert(
            kind="cold_wave",
            dong_codes=[DONG_A],
            starts_at=utcnow(),
            ends_at=utcnow() + timedelta(days=2),
            due_hours=24,
            organization_id=d.public.id,
            created_by_id=c.user.id,
        )
        s.add(alert)
        await s.flush()
        due = utcnow() + timedelta(hours=24)
        await create_task(
            s, assignee_id=d.planner.id, kind="alert_check", due_at=due, household_id=kept_id, alert_id=alert.id
        )
        clash = await create_task(
            s, assignee_id=d.planner.id, kind="alert_check", due_at=due, household_id=away_id, alert_id=alert.id
        )
        manual = await create_task(s, assignee_id=d.planner.id, kind="alert_check", due_at=due, household_id=away_id)
        attempt = ContactAttempt(
            household_id=away_id,
            dong_code=DONG_A,
            method="phone",
            outcome="no_answer",
            at=utcnow(),
            by_id=d.planner.id,
            organization_id=d.public.id,
        )
        s.add(attempt)
        await commit(s)
    r = await client.post(f"/v1/households/{away['id']}/merge", headers=c.headers, json={"into": kept["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["moved"]["winter_task"] == 1
    assert r.json()["moved"]["contact_attempt"] == 1
    assert r.json()["kept"] == {"winter_task": 1}
    async with maker() as s:
        assert (await s.get(Task, manual.id)).household_id == kept_id  # type: ignore[union-attr]
        assert (await s.get(Task, clash.id)).household_id == away_id  # type: ignore[union-attr]
        assert (await s.get(ContactAttempt, attempt.id)).household_id == kept_id  # type: ignore[union-attr]
    # the survivor now counts the failed attempt that came with the other
    assert (await client.get(f"/v1/households/{kept['id']}", headers=c.headers)).json()["contact_failures"] == 1
    r = await client.post(f"/v1/households/{away['id']}/unmerge", headers=c.headers, json={})
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/households/{kept['id']}", headers=c.headers)).json()["contact_failures"] == 0
    assert (await client.get(f"/v1/households/{away['id']}", headers=c.headers)).json()["contact_failures"] == 1
    async with maker() as s:
        assert (await s.get(Task, manual.id)).household_id == away_id  # type: ignore[union-attr]
        assert (await s.get(ContactAttempt, attempt.id)).household_id == away_id  # type: ignore[union-attr]


async def test_a_batch_finds_what_one_by_one_finds(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    c = d.coordinator
    await _create(client, c, head_name="정다온", contact_phone="010-9090-1111", members=[_member("정다온", 1960)])
    await _create(client, c, head_name="정다운", address="다온로 5", members=[_member("정다운", 1960)])
    await _create(client, c, address="온기로 77", address_detail="2층 201호", members=[_member("오세훈", 1971)])
    rows = [
        {"head_name": "정 다온", "address": "어딘가 1", "contact_phone": "+82 10 9090 1111", "members": []},
        {"head_name": "윤다운", "address": "어딘가 2", "members": [_member("윤다운", 1960)]},
        {"head_name": "새사람", "address": "서울시 온기구 온기로77", "address_detail": "2층 201호", "members": []},
        {"head_name": "없음", "address": "어딘가 3", "members": [_member("없음", 1999)]},
    ]
    async with maker() as s:
        one_by_one = [await find_duplicates(s, principal_of(c), household_keys(r)) for r in rows]
        batch = await find_duplicates_many(s, principal_of(c), [(household_keys(r), ()) for r in rows])
    assert batch == one_by_one
    assert [[x.reasons for x in found] for found in batch] == [
        [["same_phone"]],
        [["similar_name_birth_year"]],
        [["same_address"]],
        [],
    ]


async def test_similar_names_are_one_syllable_apart_at_the_start_or_the_end_with_the_same_birth_year(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    c = d.coordinator
    made = {}
    for name, year, address in (
        ("김영수", 1950, "가람로 1"),  # the last syllable differs from 김영희
        ("박영희", 1950, "가람로 2"),  # the first
        ("김수희", 1950, "가람로 3"),  # the middle one: not similar
        ("김영희자", 1950, "가람로 4"),  # longer: not similar
        ("김영수", 1951, "가람로 5"),  # another birth year
        ("최다", 1960, "가람로 6"),  # two syllables
        ("강", 1970, "가람로 7"),  # one syllable
    ):
        made[(name, year)] = (await _create(client, c, head_name=name, address=address, members=[_member(name, year)]))[
            "id"
        ]
    both = await _create(
        client,
        c,
        head_name="김영희",
        address="가람로 8",
        members=[_member("김영희", 1950), {**_member("김영미", 1950, "spouse"), "key": "m2"}],
    )
    rows = [
        {"head_name": "김영희", "address": "어딘가 1", "members": [_member("김영희", 1950)]},
        {"head_name": "최나", "address": "어딘가 2", "members": [_member("최나", 1960), _member("조다", 1960)]},
        {"head_name": "강", "address": "어딘가 3", "members": [_member("강", 1970), _member("간", 1970)]},
    ]
    async with maker() as s:
        one_by_one = [await find_duplicates(s, principal_of(c), household_keys(r)) for r in rows]
        batch = await find_duplicates_many(s, principal_of(c), [(household_keys(r), ()) for r in rows])
    assert batch == one_by_one
    found = [{str(x.household_id): x.reasons for x in candidates} for candidates in batch]
    assert found[0] == {
        both["id"]: ["same_name_birth_year", "similar_name_birth_year"],
        made[("김영수", 1950)]: ["similar_name_birth_year"],
        made[("박영희", 1950)]: ["similar_name_birth_year"],
    }
    assert found[1] == {made[("최다", 1960)]: ["similar_name_birth_year"]}
    assert found[2] == {made[("강", 1970)]: ["same_name_birth_year"]}


def test_similar_keys_hide_one_end_of_the_name() -> None:
    keys = household_keys({"head_name": "김 영희", "address": "", "members": [_member("김 영희", 1947)]})
    assert {key for kind, key in keys if kind == "ns"} == {"김영*|1947", "*영희|1947"}
    assert not [key for kind, key in household_keys({"members": [_member("강", 1970)]}) if kind == "ns"]
    assert not [key for kind, key in household_keys({"members": [{"name": "김영희"}]}) if kind == "ns"]


async def test_malformed_merge_bodies_are_422(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    a = await _create(client, d.coordinator)
    url = f"/v1/households/{a['id']}/merge"
    for body in ({}, {"into": "x"}, {"into": a["id"], "extra": 1}, {"into": a["id"], "reason": "x" * 501}, []):
        r = await client.post(url, headers=d.coordinator.headers, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(url, headers=d.coordinator.headers, json={"into": str(uuid.uuid4())})
    assert r.status_code == 404
    r = await client.post(f"/v1/households/{a['id']}/unmerge", headers=d.coordinator.headers, json={"x": 1})
    assert r.status_code == 422


async def test_encrypted_fields_are_sealed_again_to_the_survivor_and_back(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    d = await district(factory)
    c = d.coordinator
    kept = await _create(client, c, head_name="문하늘", members=[_member("문하늘", 1955)])
    away = await _create(
        client,
        c,
        head_name="문 하늘",
        members=[_member("문하늘", 1955), {**_member("문별", 2010, "child"), "key": "m2"}],
        sensitive={
            "members": [{"key": "m1", "rrn": "550101-2345678"}, {"key": "m2", "rrn": "100101-4345678"}],
            "income": "월 40만원",
        },
    )
    r = await client.post(f"/v1/households/{away['id']}/merge", headers=c.headers, json={"into": kept["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["moved"]["household_sensitive"] == 3
    survivor = (await client.get(f"/v1/households/{kept['id']}", headers=c.headers)).json()
    assert survivor["sensitive"]["income"] == "월 40만원"
    child = next(m["key"] for m in survivor["members"] if m["name"] == "문별")
    assert sorted(survivor["sensitive"]["rrn_on_file"]) == sorted(["m1", child])
    revealed = await client.post(f"/v1/households/{kept['id']}/reveal", headers=c.headers, json={"reason": "급여 신청"})
    assert revealed.status_code == 200, revealed.text
    assert {m["key"]: m["rrn"] for m in revealed.json()["members"]} == {"m1": "550101-2345678", child: "100101-4345678"}

    r = await client.post(f"/v1/households/{away['id']}/unmerge", headers=c.headers, json={})
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/households/{kept['id']}", headers=c.headers)).json()["sensitive"] == {
        "income": None,
        "benefit_history": None,
        "health_notes": None,
        "rrn_on_file": [],
    }
    back = await client.post(f"/v1/households/{away['id']}/reveal", headers=c.headers, json={"reason": "급여 신청"})
    assert {m["key"]: m["rrn"] for m in back.json()["members"]} == {"m1": "550101-2345678", "m2": "100101-4345678"}
    assert (await client.get(f"/v1/households/{away['id']}", headers=c.headers)).json()["sensitive"][
        "income"
    ] == "월 40만원"
