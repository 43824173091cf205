"""Two imports of the same list at the same moment, on separate connections that really commit (two API
processes, or a retry while the first attempt still runs): every key is imported once, no household is
doubled, and the loser of a race answers ``unchanged``. On PostgreSQL the second writer meets the unique
(source, external_id) key, its batch is rolled back and done again line by line in savepoints; on SQLite
writers take turns.

This test commits for real (outside the per-test transaction), so it cleans up after itself."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.models import AuditEvent
from app.auth.models import Organization, User
from app.auth.service import principal_for
from app.core.db import create_sessionmaker, utcnow
from app.core.principal import OrgKind, Role
from app.core.state import AppState
from app.events.models import OutboxEvent
from app.households.models import Household, Signal
from app.integrations.bulk import BulkImporter
from app.integrations.lines import RawLine
from app.integrations.models import ImportRecord
from app.sync.models import ChangeLog
from tests.integrations.test_integrations_bulk import line_for


async def _lines(texts: list[str]) -> AsyncIterator[RawLine]:
    for number, text in enumerate(texts, start=1):
        yield number, text.encode()
        if number % 25 == 0:
            await asyncio.sleep(0)  # let the other import interleave


async def test_the_same_list_imported_twice_at_once(engine: AsyncEngine, app: Any) -> None:
    maker = create_sessionmaker(engine)
    now = utcnow()
    org_id, user_id = uuid.uuid4(), uuid.uuid4()
    base = {"version": 1, "created_at": now, "updated_at": now}
    async with maker() as s:
        await s.execute(
            insert(Organization),
            [
                {
                    **base,
                    "id": org_id,
                    "name": f"race-{org_id.hex[:8]}",
                    "kind": OrgKind.public,
                    "jurisdiction": ["11990"],
                    "active": True,
                }
            ],
        )
        await s.execute(
            insert(User),
            [
                {
                    **base,
                    "id": user_id,
                    "organization_id": org_id,
                    "username": f"race-{user_id.hex[:8]}",
                    "display_name": "race",
                    "role": Role.integration,
                    "scopes": ["households:import"],
                    "active": True,
                }
            ],
        )
        await s.commit()
        org = await s.get(Organization, org_id)
        user = await s.get(User, user_id)
    assert org is not None
    assert user is not None
    principal = principal_for(user, org, session_id=None, device_id=None, address=None)
    tag = uuid.uuid4().hex[:6]
    texts = [line_for(i, tag)[0] for i in range(1, 161) if i % 1000 not in (101, 202, 303, 404, 505, 606)]
    state: AppState = replace(app.state.ongi, engine=engine, sessionmaker=maker)  # a process of its own
    try:
        importers = [BulkImporter(state, principal, batch_size=40) for _ in range(2)]

        async def one(importer: BulkImporter) -> list[Any]:
            return [r async for batch in importer.run(_lines(texts)) for r in batch]

        first, second = await asyncio.gather(*(one(i) for i in importers))
        assert len(first) == len(second) == len(texts)
        for a, b in zip(first, second, strict=True):
            assert a.line == b.line
            assert a.household_id == b.household_id  # both name the one household of the line
            assert sorted([a.status, b.status]) == ["created", "unchanged"]  # imported once, by one of them
        statuses = Counter(r.status for r in first + second)
        assert statuses["unchanged"] == len(texts)
        async with maker() as s:
            households = (
                await s.execute(
                    select(func.count()).select_from(Household).where(Household.address.like(f"온기구 {tag}로 %"))
                )
            ).scalar_one()
            records = (
                await s.execute(
                    select(func.count()).select_from(ImportRecord).where(ImportRecord.external_id.like(f"{tag}-%"))
                )
            ).scalar_one()
        assert records == len(texts)
        assert households == len({json.loads(t)["household"]["address"] for t in texts})
        isolated = sum(i.isolated_batches for i in importers)
        if engine.dialect.name == "postgresql":
            assert isolated >= 1  # the loser met the unique key and redid its batch line by line
        else:
            assert isolated == 0  # SQLite writers take turns: the second sees the first's records
    finally:
        async with maker() as s:
            hids = list(
                (await s.execute(select(Household.id).where(Household.address.like(f"온기구 {tag}로 %")))).scalars()
            )
            await s.execute(delete(ImportRecord).where(ImportRecord.external_id.like(f"{tag}-%")))
            if hids:
                await s.execute(delete(Signal).where(Signal.household_id.in_(hids)))
                await s.execute(delete(ChangeLog).where(ChangeLog.household_id.in_(hids)))
                await s.execute(delete(OutboxEvent).where(OutboxEvent.household_id.in_(hids)))
                await s.execute(delete(Household).where(Household.id.in_(hids)))
            await s.execute(delete(AuditEvent).where(AuditEvent.actor_id == user_id))
            await s.execute(delete(User).where(User.id == user_id))
            await s.execute(delete(Organization).where(Organization.id == org_id))
            await s.commit()
