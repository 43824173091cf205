"""Rows written by the thousand (app/core/inserts.py): on PostgreSQL the ids of audit events and holdings are the
database's (``gen_random_uuid()``, migration 0009s, ``app.core.db.database_id``); elsewhere Python's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.inserts import encode
from app.core.principal import OrgKind, Role
from app.sync.models import DeviceHolding
from tests.support.factories import Factory, make_household, make_visit
from tests.support.sync import Phone, push


def _rows(n: int) -> list[dict[str, object]]:
    return [{"action": "sync.pull", "entity": "note", "entity_id": uuid.uuid4()} for _ in range(n)]


def test_postgresql_makes_the_ids_a_bulk_insert_leaves_out_and_sqlite_gets_them_from_python() -> None:
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    names, _ = encode(postgresql.asyncpg.dialect(), table, _rows(3))
    assert "id" not in names  # the database's default

    names, records = encode(sqlite.dialect(), table, _rows(3))
    ids = [record[names.index("id")] for record in records]
    assert len(set(ids)) == 3  # no default in SQLite's table: made here, one each
    assert all(ids)

    given = uuid.uuid4()
    names, records = encode(postgresql.asyncpg.dialect(), table, [{**_rows(1)[0], "id": given}])
    assert records[0][names.index("id")] == given  # an id a row names is kept


async def test_the_rows_a_first_sync_copies_have_ids_of_their_own(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    """Enough notes that the pull's holdings and audit rows go by COPY on PostgreSQL (``COPY_AT_LEAST``)."""
    org = await factory.org(OrgKind.public, ["11990"])
    writer, reader = await factory.actor(Role.planner, org), await factory.actor(Role.planner, org)
    visit = await make_visit(factory, await make_household(factory), [writer.user, reader.user])
    now = datetime.now(UTC).isoformat()
    mutations = [
        {
            "mutation_id": str(uuid.uuid4()),
            "entity": "note",
            "op": "upsert",
            "id": str(uuid.uuid4()),
            "base_version": None,
            "at": now,
            "data": {"visit_id": str(visit.id), "body": f"방문 기록 {i}", "kind": "observation", "internal": False},
        }
        for i in range(45)
    ]
    assert {r["status"] for r in await push(client, writer, mutations)} == {"applied"}

    phone = Phone(client, reader)
    await phone.sync()
    assert sum(1 for entity, _ in phone.store if entity == "note") == 45

    async with maker() as s:
        device = uuid.UUID(reader.extra["device"])
        held = (await s.execute(select(DeviceHolding.id).where(DeviceHolding.device_id == device))).scalars().all()
        audited = (
            (
                await s.execute(
                    select(AuditEvent.id).where(AuditEvent.actor_id == reader.id, AuditEvent.entity == "note")
                )
            )
            .scalars()
            .all()
        )
        everyone = await s.scalar(select(func.count()).select_from(AuditEvent))
        distinct = await s.scalar(select(func.count(func.distinct(AuditEvent.id))))
    assert len(held) >= 47  # the notes, the visit, the household
    assert len(set(held)) == len(held)
    assert all(held)
    assert len(audited) == 45
    assert len(set(audited)) == 45
    assert everyone == distinct
