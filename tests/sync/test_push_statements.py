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
from tests.support.factories import Actor, Factory, make_household, make_visit

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


async def _push(client: httpx.AsyncClient, actor: Actor, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"device_id": actor.device_id, "device_time": datetime.now(UTC).isoformat(), "mutations": mutations}
    r = await client.post("/v1/sync/push", json=body, headers=actor.headers)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


async def test_push_statements_do_not_grow_with_its_size(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession]
) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    homes = [await make_household(factory) for _ in range(51)]
    visits = [await make_visit(factory, home, [planner.user]) for home in homes]
    cost: dict[str, dict[int, int]] = {"create": {}, "edit": {}, "patch": {}}
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
