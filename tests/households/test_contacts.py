"""Contact attempts and unreachable households (docs/winter.md): REST, the phone's offline push, sync, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.events.models import OutboxEvent
from tests.support.checklists import staff
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit
from tests.support.sync import Phone
from tests.support.sync import push as _push


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


async def _attempt(
    client: httpx.AsyncClient, actor: Actor, household_id: uuid.UUID, method: str, outcome: str, **kw: Any
) -> httpx.Response:
    body = {"method": method, "outcome": outcome, **kw}
    return await client.post(f"/v1/households/{household_id}/contact-attempts", json=body, headers=actor.headers)


def _upsert(attempt_id: uuid.UUID, household_id: uuid.UUID, method: str, outcome: str, **kw: Any) -> dict[str, Any]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": "contact_attempt",
        "op": "upsert",
        "id": str(attempt_id),
        "data": {"household_id": str(household_id), "method": method, "outcome": outcome, **kw},
        "at": datetime.now(UTC).isoformat(),
    }


async def _events(factory: Factory, household_id: uuid.UUID) -> list[str]:
    async with factory.maker() as s:
        rows = await s.execute(
            select(OutboxEvent.type).where(OutboxEvent.household_id == household_id).order_by(OutboxEvent.seq)
        )
        return list(rows.scalars())


async def test_three_failures_make_a_household_unreachable_then_a_contact_clears_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    now = datetime.now(UTC)
    r = await _attempt(client, s.planner, household.id, "phone", "no_answer", at=_iso(now - timedelta(hours=3)))
    assert r.status_code == 201, r.text
    assert r.json()["reachability"] == {
        "household_id": str(household.id),
        "household_version": r.json()["reachability"]["household_version"],
        "contact_failures": 1,
        "unreachable": False,
        "unreachable_at": None,
        "next_contact_step": None,
        "next_contact_step_text": None,
    }
    await _attempt(client, s.planner, household.id, "visit", "no_answer", at=_iso(now - timedelta(hours=2)))
    r = await _attempt(client, s.planner, household.id, "phone", "wrong_number", at=_iso(now - timedelta(hours=1)))
    reach = r.json()["reachability"]
    assert reach["unreachable"] is True
    assert reach["contact_failures"] == 3
    assert reach["next_contact_step"] == "registered_mail"
    assert reach["next_contact_step_text"] == "등기우편을 보내 안내하세요."

    got = (await client.get(f"/v1/households/{household.id}", headers=s.coordinator.headers)).json()
    assert (got["unreachable"], got["contact_failures"], got["next_contact_step"]) == (True, 3, "registered_mail")

    # the guidance's order: a registered letter, then a residence fact check, then the coordinator's review
    r = await _attempt(client, s.planner, household.id, "registered_mail", "no_answer")
    assert r.json()["reachability"]["next_contact_step"] == "fact_check"
    r = await _attempt(client, s.planner, household.id, "fact_check", "moved", note="전입신고 없이 이사")
    assert r.json()["reachability"]["next_contact_step"] == "review"

    r = await _attempt(client, s.planner, household.id, "neighbour", "reached")
    assert r.json()["reachability"]["unreachable"] is False
    assert r.json()["reachability"]["contact_failures"] == 0
    got = (await client.get(f"/v1/households/{household.id}", headers=s.coordinator.headers)).json()
    assert (got["unreachable"], got["unreachable_at"], got["next_contact_step"]) == (False, None, None)

    events = await _events(factory, household.id)
    assert events.count("contact_attempt.recorded") == 6
    assert events.count("household.unreachable") == 1
    assert events.count("household.reached") == 1

    listed = (
        await client.get(f"/v1/households/{household.id}/contact-attempts?limit=4", headers=s.planner.headers)
    ).json()
    assert [a["method"] for a in listed["items"]] == ["neighbour", "fact_check", "registered_mail", "phone"]
    more = (
        await client.get(
            f"/v1/households/{household.id}/contact-attempts",
            params={"limit": 4, "cursor": listed["next_cursor"]},
            headers=s.planner.headers,
        )
    ).json()
    assert [a["method"] for a in more["items"]] == ["visit", "phone"]
    assert more["next_cursor"] is None


async def test_attempts_count_in_the_order_they_were_made(client: httpx.AsyncClient, factory: Factory) -> None:
    """A phone that was offline pushes older failures after a newer contact: they do not count against it."""
    s = await staff(factory)
    household = await make_household(factory)
    now = datetime.now(UTC)
    await _attempt(client, s.planner, household.id, "phone", "reached", at=_iso(now - timedelta(hours=1)))
    for hours in (5, 4, 3):
        r = await _attempt(client, s.planner, household.id, "phone", "no_answer", at=_iso(now - timedelta(hours=hours)))
    assert r.json()["reachability"]["contact_failures"] == 0
    assert r.json()["reachability"]["unreachable"] is False


async def test_the_threshold_is_a_setting(client: httpx.AsyncClient, factory: Factory) -> None:
    from app.contacts.config import CONTACT_SETTINGS, ContactSettings

    s = await staff(factory)
    household = await make_household(factory)
    state = factory.state
    with state.override(CONTACT_SETTINGS, ContactSettings(unreachable_after=1)):
        r = await _attempt(client, s.planner, household.id, "phone", "no_answer")
    assert r.json()["reachability"]["unreachable"] is True


async def test_access_follows_the_household(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    # a partner assigned without consent: 404, as for the household itself
    await make_visit(factory, household, [s.planner.user, s.partner.user])
    assert (await _attempt(client, s.partner, household.id, "phone", "no_answer")).status_code == 404
    assert (
        await client.get(f"/v1/households/{household.id}/contact-attempts", headers=s.partner.headers)
    ).status_code == 404
    await make_consent(factory, household, s.coordinator.user, organization=s.partner.org)
    assert (await _attempt(client, s.partner, household.id, "phone", "no_answer")).status_code == 201
    # outside the jurisdiction
    other = await make_household(factory, dong_code="1188051000")
    assert (await _attempt(client, s.planner, other.id, "phone", "no_answer")).status_code == 404
    # a reporter may never
    from app.core.principal import Role

    reporter = await factory.actor(Role.reporter)
    assert (await _attempt(client, reporter, household.id, "phone", "no_answer")).status_code == 403


async def test_a_retried_attempt_is_recorded_once(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    attempt_id = str(uuid.uuid4())
    at = _iso(datetime.now(UTC) - timedelta(minutes=5))
    first = await _attempt(client, s.planner, household.id, "phone", "no_answer", id=attempt_id, at=at)
    again = await _attempt(client, s.planner, household.id, "phone", "no_answer", id=attempt_id, at=at)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["reachability"]["contact_failures"] == 1
    other = await _attempt(client, s.planner, household.id, "phone", "reached", id=attempt_id, at=at)
    assert other.status_code == 409
    assert other.json()["type"].endswith("/problems/contact-attempt-exists")
    future = await _attempt(
        client, s.planner, household.id, "phone", "reached", at=_iso(datetime.now(UTC) + timedelta(days=1))
    )
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "body.at"


async def test_phone_pushes_attempts_offline_and_pulls_them(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    await make_visit(factory, household, [s.planner.user])
    phone = Phone(client, s.planner)
    await phone.sync()
    assert ("household", str(household.id)) in phone.store

    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(3)]
    mutations = [
        _upsert(aid, household.id, m, "no_answer", at=_iso(now - timedelta(hours=3 - i)))
        for i, (aid, m) in enumerate(zip(ids, ("phone", "visit", "phone"), strict=True))
    ]
    results = await _push(client, s.planner, mutations)
    assert [r["status"] for r in results] == ["applied"] * 3
    # the same attempts again under new mutation ids (a reinstalled app): nothing doubles
    again = [
        _upsert(aid, household.id, m["data"]["method"], "no_answer", at=m["data"]["at"])
        for aid, m in zip(ids, mutations, strict=True)
    ]
    assert [r["status"] for r in await _push(client, s.planner, again)] == ["applied"] * 3
    # and the same mutation ids: duplicates
    assert [r["status"] for r in await _push(client, s.planner, mutations)] == ["duplicate"] * 3

    await phone.sync()
    assert phone.ids("contact_attempt") == {str(i) for i in ids}
    data = phone.store[("contact_attempt", str(ids[0]))]["data"]
    assert (data["household_id"], data["method"], data["outcome"]) == (str(household.id), "phone", "no_answer")
    held = phone.store[("household", str(household.id))]["data"]
    assert (held["unreachable"], held["contact_failures"], held["next_contact_step"]) == (True, 3, "registered_mail")

    # refused: unknown fields, another household's attempt, a changed attempt
    bad = await _push(
        client,
        s.planner,
        [
            _upsert(uuid.uuid4(), household.id, "phone", "no_answer", colour="red"),
            _upsert(uuid.uuid4(), (await make_household(factory, dong_code="1188051000")).id, "phone", "no_answer"),
            _upsert(ids[0], household.id, "phone", "reached", at=mutations[0]["data"]["at"]),
            _upsert(uuid.uuid4(), household.id, "carrier_pigeon", "no_answer"),
        ],
    )
    assert [r["status"] for r in bad] == ["rejected"] * 4
    assert [r["error"]["status"] for r in bad] == [422, 404, 409, 422]
    assert await _events(factory, household.id) == [
        "contact_attempt.recorded",
        "contact_attempt.recorded",
        "contact_attempt.recorded",
        "household.unreachable",
    ]


async def test_two_offline_phones_make_a_household_unreachable_with_the_reference_client(
    app: object, factory: Factory, tmp_path: Any
) -> None:
    """Two teammates try the same household on different days without signal; their attempts converge."""
    from ongi_client import SyncClient
    from tests.support.factories import PASSWORD

    s = await staff(factory)
    household = await make_household(factory)
    await make_visit(factory, household, [s.planner.user, s.planner2.user], purpose="joint_consultation")
    phones = []
    for actor, name in ((s.planner, "phone-a"), (s.planner2, "phone-b")):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")  # type: ignore[arg-type]
        phone = SyncClient(tmp_path / f"{name}.db", http, device_id=name, device_name=name)
        await phone.login(actor.user.username, PASSWORD)
        await phone.sync()
        phones.append(phone)
    a, b = phones
    hid = str(household.id)
    a.record_contact_attempt(hid, method="phone", outcome="no_answer")
    b.record_contact_attempt(hid, method="visit", outcome="no_answer", note="문 앞 우편물 쌓임")
    a.record_contact_attempt(hid, method="phone", outcome="wrong_number")
    await a.sync()
    await b.sync()
    await a.sync()
    for phone in (a, b):
        assert len(phone.all("contact_attempt")) == 3
        held = phone.get("household", hid)
        assert held is not None
        assert (held["unreachable"], held["contact_failures"], held["next_contact_step"]) == (
            True,
            3,
            "registered_mail",
        )
    b.record_contact_attempt(hid, method="neighbour", outcome="reached")
    await b.sync()
    await a.sync()
    held = a.get("household", hid)
    assert held is not None
    assert (held["unreachable"], held["contact_failures"]) == (False, 0)
