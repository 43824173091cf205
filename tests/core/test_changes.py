"""Changes of synced records and outbox events are numbered at commit, in commit order."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.uow import open_session
from app.events.models import OutboxEvent
from app.households.models import Household
from app.journal.changes import pending_mark, pending_restore
from app.journal.outbox import emit
from app.sync.models import ChangeLog


def _household(**kw: object) -> Household:
    return Household(district_code="11990", dong_code="1199051000", address="온기로 1", head_name="홍길동", **kw)


async def test_changes_and_events_are_numbered_at_commit(maker: async_sessionmaker[AsyncSession]) -> None:
    async with open_session(maker, write=True) as s:
        h = _household()
        s.add(h)
        await s.flush()
        emit(s, "household.risk_changed", {"household_id": str(h.id)}, household_id=h.id)
    async with open_session(maker, write=True) as s:
        h2 = await s.get(Household, h.id)
        assert h2 is not None
        h2.contact_phone = "010-0000-0000"
    async with maker() as s:
        log = (await s.execute(select(ChangeLog).where(ChangeLog.entity_id == h.id).order_by(ChangeLog.seq))).scalars()
        rows = [(c.entity, c.version, c.op, c.household_id) for c in log]
        event = (await s.execute(select(OutboxEvent).where(OutboxEvent.household_id == h.id))).scalar_one()
        seqs = [c.seq for c in (await s.execute(select(ChangeLog).where(ChangeLog.entity_id == h.id))).scalars()]
    assert rows == [("household", 1, "upsert", h.id), ("household", 2, "upsert", h.id)]
    assert seqs[0] < event.seq < seqs[1]


async def test_rolled_back_savepoint_leaves_no_change(maker: async_sessionmaker[AsyncSession]) -> None:
    async with open_session(maker, write=True) as s:
        kept = _household()
        s.add(kept)
        await s.flush()
        mark = pending_mark(s)
        savepoint = await s.begin_nested()
        lost = _household()
        s.add(lost)
        await s.flush()
        await savepoint.rollback()
        pending_restore(s, mark)
    async with maker() as s:
        ids = set((await s.execute(select(ChangeLog.entity_id))).scalars())
    assert kept.id in ids
    assert lost.id not in ids


async def test_soft_delete_is_logged_as_delete(maker: async_sessionmaker[AsyncSession]) -> None:
    from app.core.db import utcnow

    async with open_session(maker, write=True) as s:
        h = _household()
        s.add(h)
    async with open_session(maker, write=True) as s:
        h2 = await s.get(Household, h.id)
        assert h2 is not None
        h2.deleted_at = utcnow()
    async with maker() as s:
        ops = list(
            (await s.execute(select(ChangeLog.op).where(ChangeLog.entity_id == h.id).order_by(ChangeLog.seq))).scalars()
        )
    assert ops == ["upsert", "delete"]
