"""Notes through sync (docs/sync.md): what a phone holds (team, consent, internal notes), and the ``note``
``upsert`` (create, author-only edit, conflicts kept) and ``delete`` (tombstone) pushes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from app.notes.models import Note, NoteRevision
from tests.support.checklists import make_case, staff
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit
from tests.support.sync import Phone
from tests.support.sync import push as _push


def _upsert(note_id: uuid.UUID, base: int | None, **data: Any) -> dict[str, Any]:
    data = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()}
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": "note",
        "op": "upsert",
        "id": str(note_id),
        "base_version": base,
        "data": data,
        "at": datetime.now(UTC).isoformat(),
    }


def _delete(note_id: uuid.UUID, base: int | None) -> dict[str, Any]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": "note",
        "op": "delete",
        "id": str(note_id),
        "base_version": base,
        "data": {},
        "at": datetime.now(UTC).isoformat(),
    }


async def test_phone_holds_the_notes_of_its_scope(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user, s.partner.user])
    elsewhere = await make_visit(factory, await make_household(factory), [s.planner2.user])
    case = await make_case(factory, household, s.planner.user, [s.planner.user])

    async def note(actor: Actor, **body: Any) -> str:
        body = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()}
        r = await client.post("/v1/notes", json={"body": "메모", **body}, headers=actor.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    on_visit = await note(s.planner, visit_id=visit.id)
    internal = await note(s.planner, visit_id=visit.id, internal=True)
    on_household = await note(s.coordinator, household_id=household.id)
    on_case = await note(s.planner, case_id=case.id)
    not_mine = await note(s.planner2, visit_id=elsewhere.id)

    phone = Phone(client, s.planner)
    await phone.sync()
    assert phone.ids("note") == {on_visit, internal, on_household, on_case}
    assert not_mine not in phone.ids("note")
    data = phone.store[("note", on_visit)]["data"]
    assert (data["visit_id"], data["household_id"], data["author_id"]) == (
        str(visit.id),
        str(household.id),
        str(s.planner.id),
    )

    partner_phone = Phone(client, s.partner)
    await partner_phone.sync()
    assert partner_phone.ids("note") == set()
    await make_consent(factory, household, s.coordinator.user, organization=s.partner.org)
    await partner_phone.sync()
    # Not the public side's internal note, nor the case's (the partner is not on the case).
    assert partner_phone.ids("note") == {on_visit, on_household}

    # A deleted note leaves the phone as a delete.
    r = await client.delete(f"/v1/notes/{on_visit}", headers=s.planner.headers)
    assert r.status_code == 204
    changes = await phone.sync()
    assert [(c["entity"], c["id"], c["op"]) for c in changes] == [("note", on_visit, "delete")]


async def test_push_create_edit_conflict_and_delete(client: httpx.AsyncClient, factory: Factory) -> None:
    s = await staff(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [s.planner.user, s.planner2.user])
    note_id = uuid.uuid4()

    create = _upsert(note_id, None, visit_id=visit.id, body="현관 잠김, 이웃 통해 연락", kind="observation")
    edit = _upsert(note_id, 1, visit_id=visit.id, body="현관 잠김, 이웃 통해 통화함")
    results = await _push(client, s.planner, [create, edit])
    assert [(r["status"], r["version"]) for r in results] == [("applied", 1), ("applied", 2)]

    # Another phone of the same author edits from version 1: not applied, both texts reported and kept.
    [late] = await _push(client, s.planner, [_upsert(note_id, 1, body="옛 버전에서 고침")])
    assert late["status"] == "conflict", late
    assert late["server"] == {"body": "현관 잠김, 이웃 통해 통화함"}
    assert late["device"] == {"body": "옛 버전에서 고침"}

    # Teammates may not edit or delete it; unknown fields and moving the note are refused.
    results = await _push(
        client,
        s.planner2,
        [_upsert(note_id, 2, body="남의 메모"), _delete(note_id, 2)],
    )
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert results[0]["error"]["status"] == 403
    for bad in (
        _upsert(uuid.uuid4(), None, visit_id=visit.id, body="x", colour="red"),
        _upsert(note_id, 2, household_id=uuid.uuid4(), body="옮김"),
        _upsert(note_id, 2, visit_id=uuid.uuid4(), body="옮김"),
    ):
        [result] = await _push(client, s.planner, [bad])
        assert result["status"] == "rejected"
        assert result["error"]["status"] == 422
    same_target = _upsert(note_id, 2, visit_id=visit.id, household_id=household.id, body="현관 잠김, 이웃 통해 통화함")
    [unchanged] = await _push(client, s.planner, [same_target])
    assert (unchanged["status"], unchanged["version"]) == ("applied", 2)

    [deleted] = await _push(client, s.planner, [_delete(note_id, 2)])
    assert (deleted["status"], deleted["version"]) == ("applied", 3)
    async with factory.maker() as sess:
        row = await sess.get(Note, note_id)
        assert row is not None
        assert row.deleted_at is not None
        revisions = (
            await sess.execute(
                select(NoteRevision.action, NoteRevision.body)
                .where(NoteRevision.note_id == note_id)
                .order_by(NoteRevision.created_at)
            )
        ).all()
    assert [tuple(r) for r in revisions] == [
        ("edit", "현관 잠김, 이웃 통해 연락"),
        ("conflict", "옛 버전에서 고침"),
        ("delete", "현관 잠김, 이웃 통해 통화함"),
    ]
