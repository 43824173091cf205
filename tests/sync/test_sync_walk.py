"""A pull costs what it sends (issue 20): a first sync walks the scope by keyset over (entity, id), a pull
after changes within the scope looks at those records only, and the checksum is carried per device from
what each pull sends, never recomputed over the holdings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.notes.models import Note, NoteKind
from app.sync.models import DeviceHolding
from tests.support.factories import Actor, Factory, make_household, make_visit
from tests.support.sync import Phone


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement run meanwhile (the app's sessions run on the suite's engine's connection)."""
    seen: list[str] = []
    sync_engine = engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)


async def _notes(maker: async_sessionmaker[AsyncSession], visit: Any, author: Actor, n: int) -> list[Note]:
    async with maker() as s:
        notes = [
            Note(
                visit_id=visit.id,
                household_id=visit.household_id,
                author_id=author.user.id,
                author_organization_id=author.user.organization_id,
                body=f"기록 {i}",
                kind=NoteKind.observation,
            )
            for i in range(n)
        ]
        s.add_all(notes)
        await s.flush()
        await commit(s)
    return notes


async def _world(factory: Factory, maker: async_sessionmaker[AsyncSession], n: int) -> tuple[Actor, Actor, Any]:
    district = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, district)
    mate = await factory.actor(Role.planner, district)
    home = await make_household(factory)
    visit = await make_visit(factory, home, [planner.user, mate.user])
    await _notes(maker, visit, planner, n)
    return planner, mate, visit


async def _fresh(client: httpx.AsyncClient, factory: Factory, actor: Actor) -> dict[tuple[str, str], Any]:
    """What a new device of the same user holds after a full sync in one page: the oracle."""
    other = Phone(client, await factory.login(actor.user, actor.org))
    await other.sync(limit=2000)
    return {key: rec["version"] for key, rec in other.store.items()}


async def test_a_first_sync_walks_by_keyset_and_pages_the_query(
    engine: AsyncEngine, client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, _, _ = await _world(factory, maker, 23)
    phone = Phone(client, planner)
    with statements(engine) as seen:
        changes = await phone.sync(limit=4)
    keys = [(c["entity"], c["id"]) for c in changes]
    assert len(keys) == len(set(keys)) == 25  # the visit, its household and 23 notes, each once
    # in the declared order of entities, each by id
    notes = [eid for entity, eid in keys if entity == "note"]
    assert notes == sorted(notes, key=uuid.UUID)
    assert keys.index(("visit", next(e for k, e in keys if k == "visit"))) < keys.index(("note", notes[0]))
    # the notes' scope query is a keyset page of at most a page's size, never the whole scope
    note_reads = [s for s in seen if s.startswith("SELECT note.id, note.version, note.household_id, note.case_id")]
    assert note_reads, seen
    assert all("LIMIT" in s and "ORDER BY note.id" in s for s in note_reads), note_reads
    assert await _fresh(client, factory, planner) == {k: r["version"] for k, r in phone.store.items()}


async def test_changes_during_a_walk_follow_in_the_next_pull(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, mate, visit = await _world(factory, maker, 12)
    phone = Phone(client, planner)
    first = await phone.pull_once(limit=5)
    assert first["has_more"]
    sent_note = next(c["id"] for c in first["changes"] if c["entity"] == "note")
    # meanwhile: a teammate writes a note, the planner's sent note is deleted, the household is corrected
    r = await client.post(
        "/v1/notes", json={"visit_id": str(visit.id), "body": "동료 기록", "kind": "observation"}, headers=mate.headers
    )
    assert r.status_code == 201, r.text
    r = await client.delete(f"/v1/notes/{sent_note}", headers=planner.headers)
    assert r.status_code == 204, r.text
    while phone.last["has_more"]:
        await phone.pull_once(limit=5)
    await phone.sync(limit=5)  # what changed meanwhile
    assert ("note", sent_note) not in phone.store
    assert phone.checksum() == phone.last["checksum"]
    assert await _fresh(client, factory, planner) == {k: r["version"] for k, r in phone.store.items()}


async def test_a_lost_page_of_a_walk_is_sent_again(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, _, _ = await _world(factory, maker, 14)
    phone = Phone(client, planner)
    await phone.pull_once(limit=4)
    kept_cursor, kept_store = phone.cursor, dict(phone.store)
    await phone.pull_once(limit=4)  # its answer is lost: the phone retries from the cursor it had
    phone.cursor, phone.store = kept_cursor, kept_store
    await phone.sync(limit=4)
    assert len(phone.store) == 16
    assert await _fresh(client, factory, planner) == {k: r["version"] for k, r in phone.store.items()}


async def test_a_pull_after_changes_in_scope_carries_the_checksum_and_reads_those_records(
    engine: AsyncEngine, client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, mate, visit = await _world(factory, maker, 30)
    phone = Phone(client, planner)
    await phone.sync()
    await phone.sync()  # settled
    # a holding the server keeps changes behind the engine's back: a pull that recomputed the checksum
    # over the holdings would show it; one that carries it per device does not
    async with maker() as s:
        held = (
            await s.execute(
                select(DeviceHolding)
                .where(
                    DeviceHolding.device_id == uuid.UUID(planner.extra["device"]),
                    DeviceHolding.entity == "note",
                    DeviceHolding.sent_op == "upsert",
                )
                .limit(1)
            )
        ).scalar_one()
        await s.execute(
            update(DeviceHolding).where(DeviceHolding.id == held.id).values(sent_version=held.sent_version + 5)
        )
        await commit(s)
    r = await client.post(
        "/v1/notes", json={"visit_id": str(visit.id), "body": "동료 기록", "kind": "observation"}, headers=mate.headers
    )
    assert r.status_code == 201, r.text
    with statements(engine) as seen:
        changes = await phone.sync()
    assert [(c["entity"], c["op"]) for c in changes] == [("note", "upsert")]
    assert phone.checksum() == phone.last["checksum"]
    # the device's holdings are read by key (its holdings of the changed records and of their visit and
    # household), never all of them
    reads = [s for s in seen if "FROM device_holding" in s and s.lstrip().upper().startswith("SELECT")]
    assert reads
    assert all("entity_id IN" in s or "sent_batch >" in s for s in reads), reads


async def test_the_stored_checksum_of_a_former_form_is_summed_once(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    from app.sync.models import DeviceSyncState

    planner, mate, visit = await _world(factory, maker, 3)
    phone = Phone(client, planner)
    await phone.sync()
    async with maker() as s:  # as a device synced before the additive checksum holds it
        await s.execute(update(DeviceSyncState).values(checksum="ab" * 32, updated_at=utcnow()))
        await commit(s)
    r = await client.post(
        "/v1/notes", json={"visit_id": str(visit.id), "body": "동료 기록", "kind": "observation"}, headers=mate.headers
    )
    assert r.status_code == 201, r.text
    await phone.sync()
    assert phone.checksum() == phone.last["checksum"]
