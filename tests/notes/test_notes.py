"""Notes on visits, households and cases: who sees them (target visibility, partner consent, internal
notes), author-only edits with If-Match and history, tombstones, audit, and the service functions the
sync push uses (docs/data-model.md, docs/access.md, docs/sync.md#push)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.errors import Problem
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.notes.models import Note, NoteRevision
from app.notes.service import create_note, delete_note, edit_note, upsert_note
from app.sync.models import ChangeLog
from tests.support.checklists import make_case, make_facility, make_facility_visit, principal_of, staff
from tests.support.factories import Factory, make_consent, make_household, make_visit

NOTES = "/v1/notes"


async def _note(client: httpx.AsyncClient, actor: Any, **body: Any) -> httpx.Response:
    body.setdefault("body", "현관 앞 우편물이 쌓여 있음")
    data = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()}
    return await client.post(NOTES, json=data, headers=actor.headers)


def _ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [n["id"] for n in r.json()["items"]]


async def test_visit_note_lifecycle(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user])
    client_id = uuid.uuid4()
    r = await _note(client, s.planner, visit_id=visit.id, id=client_id, kind="consultation")
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["id"] == str(client_id)
    assert r.headers["location"] == f"{NOTES}/{client_id}"
    assert (note["visit_id"], note["household_id"], note["case_id"]) == (str(visit.id), str(household.id), None)
    assert (note["author_id"], note["author_organization_id"]) == (str(s.planner.id), str(s.planner.org.id))
    assert (note["kind"], note["internal"], note["version"]) == ("consultation", False, 1)
    assert {
        "id",
        "version",
        "visit_id",
        "household_id",
        "case_id",
        "author_id",
        "body",
        "kind",
        "internal",
        "created_at",
    } <= set(note)
    assert (await _note(client, s.planner, visit_id=visit.id, id=client_id)).status_code == 409

    # Those who see the visit read it; the list filters by target (household covers its visits' notes).
    got = await client.get(f"{NOTES}/{client_id}", headers=s.coordinator.headers)
    assert got.status_code == 200
    assert got.headers["etag"].startswith('"v1-')
    assert _ids(await client.get(NOTES, params={"visit_id": str(visit.id)}, headers=s.coordinator.headers)) == [
        str(client_id)
    ]
    assert _ids(await client.get(NOTES, params={"household_id": str(household.id)}, headers=s.planner2.headers)) == [
        str(client_id)
    ]
    assert _ids(await client.get(NOTES, params={"kind": "observation"}, headers=s.coordinator.headers)) == []

    # Only the author edits, and only with If-Match.
    url = f"{NOTES}/{client_id}"
    r = await client.patch(url, json={"body": "남의 글"}, headers={**s.coordinator.headers, "If-Match": '"v1"'})
    assert r.status_code == 403
    assert r.json()["type"].endswith("/not-note-author")
    r = await client.patch(url, json={"body": "수정"}, headers=s.planner.headers)
    assert r.status_code == 428
    r = await client.patch(url, json={"body": "수정"}, headers={**s.planner.headers, "If-Match": '"v7"'})
    assert r.status_code == 412
    r = await client.patch(
        url, json={"body": "  우편물 정리됨  ", "internal": True}, headers={**s.planner.headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["body"], r.json()["internal"], r.json()["version"]) == ("우편물 정리됨", True, 2)
    assert r.headers["etag"].startswith('"v2-')

    # Delete: author only; leaves a tombstone and the history.
    assert (await client.delete(url, headers=s.coordinator.headers)).status_code == 403
    assert (await client.delete(url, headers={**s.planner.headers, "If-Match": '"v1"'})).status_code == 412
    assert (await client.delete(url, headers=s.planner.headers)).status_code == 204
    assert (await client.get(url, headers=s.planner.headers)).status_code == 404
    assert (await client.delete(url, headers=s.planner.headers)).status_code == 404
    assert _ids(await client.get(NOTES, params={"visit_id": str(visit.id)}, headers=s.planner.headers)) == []
    async with factory.maker() as sess:
        row = await sess.get(Note, client_id)
        assert row is not None
        assert row.deleted_at is not None
        assert row.deleted_by_id == s.planner.id
        assert row.body == "우편물 정리됨"
        revisions = (
            (
                await sess.execute(
                    select(NoteRevision).where(NoteRevision.note_id == client_id).order_by(NoteRevision.note_version)
                )
            )
            .scalars()
            .all()
        )
        ops = list(
            (
                await sess.execute(select(ChangeLog.op).where(ChangeLog.entity_id == client_id).order_by(ChangeLog.seq))
            ).scalars()
        )
    assert [(r.note_version, r.body, r.internal, r.action, r.changed_by_id) for r in revisions] == [
        (1, "현관 앞 우편물이 쌓여 있음", False, "edit", s.planner.id),
        (2, "우편물 정리됨", True, "delete", s.planner.id),
    ]
    assert ops == ["upsert", "upsert", "delete"]


async def test_targets_and_their_visibility(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    far_org = await factory.org(OrgKind.public, ["26110"])
    far = await factory.actor(Role.planner, far_org)
    # Household notes: whoever sees the household.
    r = await _note(client, s.coordinator, household_id=household.id)
    assert r.status_code == 201, r.text
    h_note = r.json()["id"]
    assert (r.json()["visit_id"], r.json()["case_id"]) == (None, None)
    assert (await client.get(f"{NOTES}/{h_note}", headers=s.planner.headers)).status_code == 200
    assert (await client.get(f"{NOTES}/{h_note}", headers=far.headers)).status_code == 404
    assert (await _note(client, far, household_id=household.id)).status_code == 404

    # Case notes: the case's team (and those who see the case); the household id is not stored on them.
    outside = await make_household(factory, dong_code="2611051000")
    case = await make_case(factory, outside, far.user, [far.user])
    r = await _note(client, far, case_id=case.id, kind="case_conference")
    assert r.status_code == 201, r.text
    c_note = r.json()
    assert (c_note["case_id"], c_note["household_id"], c_note["visit_id"]) == (str(case.id), None, None)
    assert (await client.get(f"{NOTES}/{c_note['id']}", headers=s.coordinator.headers)).status_code == 404
    assert _ids(await client.get(NOTES, params={"case_id": str(case.id)}, headers=far.headers)) == [c_note["id"]]
    assert (await _note(client, s.planner, case_id=case.id)).status_code == 404

    # Exactly one target; unknown targets are 404; roles that never write notes are 403.
    both = await _note(client, s.planner, household_id=household.id, case_id=case.id)
    assert both.status_code == 422
    assert (await _note(client, s.planner)).status_code == 422
    assert (await _note(client, s.planner, visit_id=uuid.uuid4())).status_code == 404
    admin = await factory.actor(Role.admin, s.coordinator.org)
    assert (await _note(client, admin, household_id=household.id)).status_code == 403
    reporter = await factory.actor(Role.reporter)
    assert (await _note(client, reporter, household_id=household.id)).status_code == 403
    assert (await client.get(NOTES, headers=reporter.headers)).status_code == 403
    assert (await client.get(f"{NOTES}/{h_note}", headers=admin.headers)).status_code == 403
    assert (await _note(client, s.planner, household_id=household.id, body="   ")).status_code == 422


async def test_internal_notes_stay_in_their_organization(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user, s.partner.user], purpose="joint_consultation")
    await make_consent(factory, household, s.coordinator.user, organization=s.partner.org)
    colleague = await factory.actor(Role.partner, s.partner.org)
    await make_visit(factory, household, [colleague.user], purpose="joint_consultation")

    public_internal = (await _note(client, s.planner, visit_id=visit.id, internal=True)).json()["id"]
    public_open = (await _note(client, s.planner, visit_id=visit.id)).json()["id"]
    private_internal = (await _note(client, s.partner, visit_id=visit.id, internal=True)).json()["id"]

    def listed(actor: Any) -> Any:
        return client.get(NOTES, params={"visit_id": str(visit.id)}, headers=actor.headers)

    assert set(_ids(await listed(s.planner))) == {public_internal, public_open}
    assert set(_ids(await listed(s.coordinator))) == {public_internal, public_open}
    assert set(_ids(await listed(s.partner))) == {public_open, private_internal}
    assert (await client.get(f"{NOTES}/{public_internal}", headers=s.partner.headers)).status_code == 404
    assert (await client.get(f"{NOTES}/{private_internal}", headers=s.coordinator.headers)).status_code == 404
    # A colleague of the partner reaches the household through their own visit, not this visit's notes...
    assert (await client.get(f"{NOTES}/{private_internal}", headers=colleague.headers)).status_code == 404
    # ...but an internal household note of their organization, which the public side never sees.
    r = await _note(client, s.partner, household_id=household.id, internal=True, body="복지관 내부 메모")
    assert r.status_code == 201, r.text
    household_internal = r.json()["id"]
    assert (await client.get(f"{NOTES}/{household_internal}", headers=colleague.headers)).status_code == 200
    for actor in (s.coordinator, s.planner):
        assert (await client.get(f"{NOTES}/{household_internal}", headers=actor.headers)).status_code == 404
    page = await client.get(NOTES, params={"household_id": str(household.id)}, headers=colleague.headers)
    assert _ids(page) == [household_internal]
    page = await client.get(NOTES, params={"household_id": str(household.id)}, headers=s.coordinator.headers)
    assert set(_ids(page)) == {public_internal, public_open}


async def test_partner_needs_consent(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user, s.partner.user])
    note_id = (await _note(client, s.planner, visit_id=visit.id)).json()["id"]
    assert (await client.get(f"{NOTES}/{note_id}", headers=s.partner.headers)).status_code == 404
    assert _ids(await client.get(NOTES, params={"visit_id": str(visit.id)}, headers=s.partner.headers)) == []
    assert (await _note(client, s.partner, visit_id=visit.id)).status_code == 404
    assert (await _note(client, s.partner, household_id=household.id)).status_code == 404

    consent = await make_consent(factory, household, s.coordinator.user, organization=s.partner.org)
    assert (await client.get(f"{NOTES}/{note_id}", headers=s.partner.headers)).status_code == 200
    r = await _note(client, s.partner, visit_id=visit.id)
    assert r.status_code == 201
    mine = r.json()["id"]

    from app.households.models import Consent

    async with factory.maker() as sess:
        row = await sess.get(Consent, consent.id)
        assert row is not None
        row.withdrawn_at = utcnow()
        await commit(sess)
    assert (await client.get(f"{NOTES}/{note_id}", headers=s.partner.headers)).status_code == 404
    # Even their own note is out of reach once consent is withdrawn.
    r = await client.patch(f"{NOTES}/{mine}", json={"body": "x"}, headers={**s.partner.headers, "If-Match": '"v1"'})
    assert r.status_code == 404

    # A facility visit identifies no household: the partner on its team sees its notes without consent.
    facility = await make_facility(factory)
    inspection = await make_facility_visit(factory, facility, [s.partner.user])
    r = await _note(client, s.partner, visit_id=inspection.id)
    assert r.status_code == 201, r.text
    assert r.json()["household_id"] is None
    assert _ids(await client.get(NOTES, params={"visit_id": str(inspection.id)}, headers=s.partner.headers)) == [
        r.json()["id"]
    ]


async def test_reads_and_writes_are_audited(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    case = await make_case(factory, household, s.planner.user, [s.planner.user])
    note_id = (await _note(client, s.planner, case_id=case.id, body="사례회의: 주거지원 연계")).json()["id"]
    await client.get(f"{NOTES}/{note_id}", headers=s.coordinator.headers)
    await client.get(NOTES, params={"case_id": str(case.id)}, headers=s.coordinator.headers)
    await client.patch(
        f"{NOTES}/{note_id}", json={"kind": "case_conference"}, headers={**s.planner.headers, "If-Match": '"v1"'}
    )
    async with factory.maker() as sess:
        events = (
            (
                await sess.execute(
                    select(AuditEvent).where(AuditEvent.entity_id == uuid.UUID(note_id)).order_by(AuditEvent.at)
                )
            )
            .scalars()
            .all()
        )
    assert [(e.action, e.actor_id, e.household_id) for e in events] == [
        ("note.create", s.planner.id, household.id),
        ("note.read", s.coordinator.id, household.id),
        ("note.read", s.coordinator.id, household.id),
        ("note.update", s.planner.id, household.id),
    ]
    assert all("주거" not in str(e.details) for e in events)


async def test_service_functions_for_sync(factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user])
    other_visit = await make_visit(factory, household, [s.planner.user])
    planner, coordinator = principal_of(s.planner), principal_of(s.coordinator)
    note_id = uuid.uuid4()
    async with factory.maker() as sess:
        note, created = await upsert_note(sess, planner, note_id, {"visit_id": str(visit.id), "body": "첫 메모"})
        assert created
        assert note.household_id == household.id
        # The same upsert again edits (the phone re-sends the target with its data).
        note, created = await upsert_note(
            sess,
            planner,
            note_id,
            {"visit_id": str(visit.id), "body": "고친 메모", "kind": "observation"},
            base_version=1,
        )
        assert not created
        assert note.body == "고친 메모"
        await sess.flush()
        assert note.version == 2
        with pytest.raises(Problem) as caught:
            await edit_note(sess, planner, note_id, {"body": "늦은 수정"}, base_version=1)
        assert caught.value.status == 412
        with pytest.raises(Problem) as caught:
            await edit_note(sess, planner, note_id, {"visit_id": str(other_visit.id), "body": "이동"})
        assert caught.value.status == 422
        with pytest.raises(Problem) as caught:
            await edit_note(sess, planner, note_id, {"body": "x", "colour": "red"})
        assert caught.value.status == 422
        with pytest.raises(Problem) as caught:
            await edit_note(sess, coordinator, note_id, {"body": "남의 메모"})
        assert caught.value.status == 403
        with pytest.raises(Problem) as caught:
            await create_note(sess, planner, note_id, {"visit_id": str(visit.id), "body": "중복"})
        assert caught.value.status == 409
        with pytest.raises(Problem) as caught:
            await delete_note(sess, coordinator, note_id)
        assert caught.value.status == 403
        deleted = await delete_note(sess, planner, note_id, base_version=2)
        assert deleted.deleted_at is not None
        with pytest.raises(Problem) as caught:
            await upsert_note(sess, planner, note_id, {"visit_id": str(visit.id), "body": "되살리기"})
        assert caught.value.status == 404
        await sess.rollback()


async def test_lists_page_newest_first(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    made = [
        (await _note(client, s.planner, household_id=household.id, body=f"메모 {i}")).json()["id"] for i in range(3)
    ]
    params = {"household_id": str(household.id), "limit": 2}
    first = await client.get(NOTES, params=params, headers=s.coordinator.headers)
    assert _ids(first) == [made[2], made[1]]
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await client.get(NOTES, params={**params, "cursor": cursor}, headers=s.coordinator.headers)
    assert _ids(second) == [made[0]]
    assert second.json()["next_cursor"] is None
    assert (await client.get(NOTES, params={"cursor": "%%%"}, headers=s.coordinator.headers)).status_code == 422
