"""A push costs a constant number of statements, whatever its size (issue 20; ``bench/push_statements.py``).

Structural, not timing: every statement the app sends during a push is counted (``before_cursor_execute``; one
``executemany`` counts once), for a push of 1 and of 50 mutations of each kind phones send most.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.principal import OrgKind, Role
from app.households.models import Household
from app.notes.models import Note, NoteRevision
from app.sync.models import ChangeLog, FieldStamp
from tests.support.factories import Factory, make_household, make_visit
from tests.support.sync import push as _push

#: Statements a push of 50 may send beyond a push of 1 (none today; a little room for a chunk boundary).
SLACK = 2


class _Count:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *_args: Any) -> None:
        self.n += 1


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[_Count]:
    from sqlalchemy import event

    count = _Count()
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield count
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


def _mut(entity: str, op: str, id: Any, data: dict[str, Any], base: int | None = None) -> dict[str, Any]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": entity,
        "op": op,
        "id": str(id),
        "base_version": base,
        "data": data,
        "at": datetime.now(UTC).isoformat(),
    }


async def test_push_statements_do_not_grow_with_its_size(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession]
) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    homes = [await make_household(factory) for _ in range(51)]
    visits = [await make_visit(factory, home, [planner.user]) for home in homes]
    cost: dict[str, dict[int, int]] = {"create": {}, "edit": {}, "patch": {}, "delete": {}}
    gone: list[uuid.UUID] = []
    edited: list[uuid.UUID] = []
    for n, part in ((1, slice(0, 1)), (50, slice(1, 51))):
        ids = [uuid.uuid4() for _ in visits[part]]
        with counting(engine) as c:
            created = await _push(
                client,
                planner,
                [
                    _mut("note", "upsert", i, {"visit_id": str(v.id), "body": "기록"})
                    for i, v in zip(ids, visits[part], strict=True)
                ],
            )
        cost["create"][n] = c.n
        assert [r["status"] for r in created] == ["applied"] * n
        with counting(engine) as c:
            edits = await _push(
                client,
                planner,
                [
                    _mut("note", "upsert", i, {"body": "고친 기록"}, base=r["version"])
                    for i, r in zip(ids, created, strict=True)
                ],
            )
        cost["edit"][n] = c.n
        assert [(r["status"], r["version"]) for r in edits] == [("applied", 2)] * n
        edited += ids
        with counting(engine) as c:
            patched = await _push(
                client,
                planner,
                [
                    _mut(
                        "household",
                        "patch",
                        h.id,
                        {"contact_phone": f"010-1234-{k:04d}", "living_situation": "혼자"},
                        1,
                    )
                    for k, h in enumerate(homes[part])
                ],
            )
        cost["patch"][n] = c.n
        assert [(r["status"], r["version"]) for r in patched] == [("applied", 2)] * n
        doomed = [uuid.uuid4() for _ in visits[part]]  # notes written, then deleted (each its own tombstone)
        await _push(
            client,
            planner,
            [
                _mut("note", "upsert", i, {"visit_id": str(v.id), "body": "지울 기록"})
                for i, v in zip(doomed, visits[part], strict=True)
            ],
        )
        with counting(engine) as c:
            deleted = await _push(client, planner, [_mut("note", "delete", i, {}, 1) for i in doomed])
        cost["delete"][n] = c.n
        assert [(r["status"], r["version"]) for r in deleted] == [("applied", 2)] * n
        gone += doomed
    for kind, by_n in cost.items():
        assert by_n[50] <= by_n[1] + SLACK, (kind, by_n)
    # What the bulk writes stored is what the one-by-one path stores: the rows, their history and the journal.
    async with maker() as s:
        notes = list((await s.execute(select(Note).where(Note.id.in_(edited)))).scalars())
        assert sorted((n.body, n.version) for n in notes) == [("고친 기록", 2)] * 51
        revisions = (await s.execute(select(NoteRevision).where(NoteRevision.note_id.in_(edited)))).scalars().all()
        assert sorted((r.body, r.note_version, r.action) for r in revisions) == [("기록", 1, "edit")] * 51
        ids = [h.id for h in homes]
        rows = list((await s.execute(select(Household).where(Household.id.in_(ids)))).scalars())
        assert {(h.version, h.living_situation) for h in rows} == {(2, "혼자")}
        stamps = (
            await s.execute(select(FieldStamp.field, FieldStamp.version).where(FieldStamp.entity_id.in_(ids)))
        ).all()
        assert sorted(stamps) == [("contact_phone", 2)] * 51 + [("living_situation", 2)] * 51
        logged = (
            await s.execute(select(ChangeLog.entity, ChangeLog.version).where(ChangeLog.entity_id.in_([*edited, *ids])))
        ).all()
        assert sum(row == ("household", 2) for row in logged) == 51
        assert sum(row == ("note", 2) for row in logged) == 51
        assert sum(row == ("note", 1) for row in logged) == 51
        tombstones = list((await s.execute(select(Note).where(Note.id.in_(gone)))).scalars())
        assert {(n.version, n.deleted_at is not None, n.deleted_by_id) for n in tombstones} == {(2, True, planner.id)}
        assert len(tombstones) == 51
        last = (await s.execute(select(NoteRevision).where(NoteRevision.note_id.in_(gone)))).scalars().all()
        assert sorted((r.body, r.note_version, r.action) for r in last) == [("지울 기록", 1, "delete")] * 51
        logged_gone = (await s.execute(select(ChangeLog.version).where(ChangeLog.entity_id.in_(gone)))).scalars().all()
        assert sorted(logged_gone) == [1] * 51 + [2] * 51
    # the search keys follow the phone's number
    r = await client.post("/v1/households/search", json={"q": "010-1234-0007"}, headers=planner.headers)
    assert r.status_code == 200, r.text
    assert str(homes[8].id) in r.text


async def test_a_row_changed_under_the_batch_is_replayed_one_by_one(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession]
) -> None:
    """Another writer moving a note's version between the push's read and its bulk write: the batch is rolled
    back and replayed one mutation at a time, which refuses the stale one alone (as two racing phones are)."""
    from sqlalchemy import event

    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    home = await make_household(factory)
    visit = await make_visit(factory, home, [planner.user])
    ids = [uuid.uuid4() for _ in range(3)]
    created = await _push(
        client, planner, [_mut("note", "upsert", i, {"visit_id": str(visit.id), "body": "기록"}) for i in ids]
    )
    moved = {"done": False}

    def race(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith("WITH given") and not moved["done"]:
            moved["done"] = True
            stmt = update(Note.__table__).where(Note.__table__.c.id == ids[1]).values(version=5)
            conn.execute(stmt)

    event.listen(engine.sync_engine, "before_cursor_execute", race)
    try:
        results = await _push(
            client,
            planner,
            [
                _mut("note", "upsert", i, {"body": "고친 기록"}, base=r["version"])
                for i, r in zip(ids, created, strict=True)
            ],
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", race)
    assert moved["done"]
    # the replay runs on the rows as the savepoint's rollback left them: the race is undone with it, so all apply
    assert [(r["status"], r["version"]) for r in results] == [("applied", 2)] * 3
    async with maker() as s:
        notes = list((await s.execute(select(Note).where(Note.id.in_(ids)))).scalars())
        assert sorted((n.body, n.version) for n in notes) == [("고친 기록", 2)] * 3


async def test_checklist_response_pushes_do_not_grow_with_their_size(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession]
) -> None:
    """The screening filled on each visit: new responses, answers merged into them (an overwrite kept in the
    history), then a stale phone's answer (a conflict), cost the same for 1 and 50 visits, and store what the
    one-by-one path stores."""
    from app.audit.models import AuditEvent
    from app.checklists.models import ChecklistAnswerHistory, ChecklistResponse
    from tests.support.checklists import SCORED, SCREENING, builtin_templates, screening_answers

    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    await builtin_templates(factory)
    pin = [{"key": SCREENING, "version": 1}]
    homes = [await make_household(factory) for _ in range(51)]
    visits = [await make_visit(factory, home, [planner.user], checklists=pin) for home in homes]
    response_ids = [uuid.uuid4() for _ in visits]

    def screening(i: int, answers: dict[str, Any], base: int | None = None) -> dict[str, Any]:
        data = {"visit_id": str(visits[i].id), "template_key": SCREENING, "template_version": 1, "answers": answers}
        return _mut("checklist_response", "upsert", response_ids[i], data, base)

    cost: dict[str, dict[int, int]] = {"create": {}, "merge": {}, "conflict": {}}
    for n, part in ((1, range(0, 1)), (50, range(1, 51))):
        with counting(engine) as c:
            created = await _push(client, planner, [screening(i, screening_answers(1)) for i in part])
        cost["create"][n] = c.n
        assert [(r["status"], r["version"]) for r in created] == [("applied", 1)] * n
        with counting(engine) as c:
            merged = await _push(client, planner, [screening(i, screening_answers(2), base=1) for i in part])
        cost["merge"][n] = c.n
        assert [(r["status"], r["version"]) for r in merged] == [("applied", 2)] * n
        # a phone that read version 1 answers the item changed at version 2: the server's value stays
        stale = {SCORED[1]: {"value": False}}
        with counting(engine) as c:
            refused = await _push(client, planner, [screening(i, stale, base=1) for i in part])
        cost["conflict"][n] = c.n
        assert [(r["status"], r["version"]) for r in refused] == [("conflict", 2)] * n
        assert all(r["server"][SCORED[1]]["value"] is True for r in refused)
        assert all(r["device"][SCORED[1]]["value"] is False for r in refused)
    for kind, by_n in cost.items():
        assert by_n[50] <= by_n[1] + SLACK, (kind, by_n)
    async with maker() as s:
        rows = list(
            (await s.execute(select(ChecklistResponse).where(ChecklistResponse.id.in_(response_ids)))).scalars()
        )
        assert len(rows) == 51
        visits_by_id = {v.id: v for v in visits}
        for row in rows:
            assert row.version == 2
            assert [row.answers[k]["value"] for k in SCORED[:3]] == [True, True, False]
            assert [row.item_versions[k] for k in SCORED[:3]] == [1, 2, 1]
            assert (row.household_id, row.score) == (visits_by_id[row.visit_id].household_id, 2)
        history = (
            await s.execute(
                select(
                    ChecklistAnswerHistory.item_key,
                    ChecklistAnswerHistory.value,
                    ChecklistAnswerHistory.reason,
                    ChecklistAnswerHistory.response_version,
                ).where(ChecklistAnswerHistory.response_id.in_(response_ids))
            )
        ).all()
        assert sorted(history) == sorted(
            [(SCORED[1], False, "conflict", 2)] * 51 + [(SCORED[1], False, "overwritten", 1)] * 51
        )
        logged = (
            await s.execute(select(ChangeLog.entity, ChangeLog.version).where(ChangeLog.entity_id.in_(response_ids)))
        ).all()
        assert sorted(logged) == [("checklist_response", 1)] * 51 + [("checklist_response", 2)] * 51
        audited = (
            await s.execute(
                select(AuditEvent.action, AuditEvent.entity_id).where(AuditEvent.entity_id.in_(response_ids))
            )
        ).all()
        actions = sorted(action for action, _ in audited)
        assert actions == ["checklist_response.create"] * 51 + ["checklist_response.update"] * 102


async def test_checklist_responses_batched_keep_their_one_by_one_results(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    """A response made and amended in the same push counts its versions as one by one; a rejected mutation
    replays the push one savepoint per mutation, the others applied in order."""
    from app.checklists.models import ChecklistResponse
    from tests.support.checklists import SCORED, SCREENING, builtin_templates, screening_answers

    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    await builtin_templates(factory)
    pin = [{"key": SCREENING, "version": 1}]
    homes = [await make_household(factory) for _ in range(4)]
    visits = [await make_visit(factory, home, [planner.user], checklists=pin) for home in homes]
    ids = [uuid.uuid4() for _ in visits]

    def screening(i: int, answers: dict[str, Any], base: int | None = None, version: int = 1) -> dict[str, Any]:
        data = {"visit_id": str(visits[i].id), "template_key": SCREENING, "template_version": version}
        return _mut("checklist_response", "upsert", ids[i], {**data, "answers": answers}, base)

    results = await _push(client, planner, [screening(0, screening_answers(1)), screening(0, screening_answers(3), 1)])
    assert [(r["status"], r["version"]) for r in results] == [("applied", 1), ("applied", 2)]
    results = await _push(
        client,
        planner,
        [
            screening(1, screening_answers(1)),
            screening(1, {SCORED[2]: {"value": True}}, 1),
            screening(2, screening_answers(1), version=9),  # not pinned: rejected
            screening(3, screening_answers(2)),
            screening(0, {SCORED[2]: {"value": False}}, 1),  # changed at version 2: the server's value stays
        ],
    )
    assert [(r["status"], r.get("version")) for r in results] == [
        ("applied", 1),
        ("applied", 2),
        ("rejected", None),
        ("applied", 1),
        ("conflict", 2),
    ]
    async with maker() as s:
        rows = {
            r.id: r for r in (await s.execute(select(ChecklistResponse).where(ChecklistResponse.id.in_(ids)))).scalars()
        }
    assert set(rows) == {ids[0], ids[1], ids[3]}
    assert (rows[ids[0]].version, rows[ids[0]].answers[SCORED[2]]["value"]) == (2, True)
    assert (rows[ids[1]].version, rows[ids[1]].item_versions[SCORED[2]]) == (2, 2)
    assert rows[ids[3]].version == 1
