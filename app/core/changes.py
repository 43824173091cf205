"""Recording changes of records that phones hold, for sync pulls (DESIGN §4.1).

A table joins by setting ``__sync_entity__`` (the entity name used in sync) and, where it has them,
``household_id`` / ``visit_id`` / ``case_id`` columns. Every ORM insert, update or delete of such a row
is noted during the transaction; just before commit :func:`number_changes` takes the change counter
(a row lock held until commit), numbers the notes in order and writes them to ``change_log``.

Write syncable rows through the ORM (``session.add`` / attribute changes), not with bulk ``update()``,
so that the change is seen. A soft delete sets ``deleted_at``; it is logged as ``delete``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.core.db import utcnow

PENDING_KEY = "ongi_pending_changes"


def _note(session: Session, obj: Any, op: str) -> None:
    entity = getattr(type(obj), "__sync_entity__", None)
    if entity is None:
        return
    if op == "upsert" and getattr(obj, "deleted_at", None) is not None:
        op = "delete"
    pending: dict[tuple[str, uuid.UUID], dict[str, Any]] = session.info.setdefault(PENDING_KEY, {})
    key = (entity, obj.id)
    pending.pop(key, None)  # re-insert so that the latest change of a record sorts last
    pending[key] = {
        "entity": entity,
        "entity_id": obj.id,
        "version": obj.version,
        "op": op,
        "household_id": getattr(obj, "household_id", None) if entity != "household" else obj.id,
        "visit_id": getattr(obj, "visit_id", None) if entity != "visit" else obj.id,
        "case_id": getattr(obj, "case_id", None) if entity != "case" else obj.id,
    }


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    for obj in session.new:
        _note(session, obj, "upsert")
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _note(session, obj, "upsert")
    for obj in session.deleted:
        _note(session, obj, "delete")


def note_change(session: AsyncSession, obj: Any, op: str = "upsert") -> None:
    """Note a change the ORM did not see (a guarded bulk ``UPDATE`` of a synced row), so that it is logged
    at commit like any other; ``obj`` must carry the row's new ``version``."""
    _note(session.sync_session, obj, op)


Mark = tuple[dict[tuple[str, uuid.UUID], dict[str, Any]], list[dict[str, Any]]]


def pending_mark(session: AsyncSession) -> Mark:
    """A copy of the pending change notes and events, to restore when a savepoint is rolled back."""
    from app.events.outbox import PENDING_EVENTS_KEY

    info = session.sync_session.info
    return dict(info.get(PENDING_KEY, {})), list(info.get(PENDING_EVENTS_KEY, []))


def pending_restore(session: AsyncSession, mark: Mark) -> None:
    from app.events.outbox import PENDING_EVENTS_KEY

    session.sync_session.info[PENDING_KEY] = dict(mark[0])
    session.sync_session.info[PENDING_EVENTS_KEY] = list(mark[1])


async def number_changes(session: AsyncSession) -> None:
    """Write the pending change notes and outbox events, numbered in commit order. Called right before
    commit; takes the counter row last, so the lock is held only for the commit itself."""
    from app.events.models import OutboxEvent
    from app.events.outbox import PENDING_EVENTS_KEY
    from app.sync.models import ChangeCounter, ChangeLog

    await session.flush()
    info = session.sync_session.info
    pending: dict[tuple[str, uuid.UUID], dict[str, Any]] = info.pop(PENDING_KEY, {})
    events: list[dict[str, Any]] = info.pop(PENDING_EVENTS_KEY, [])
    count = len(pending) + len(events)
    if not count:
        return
    result = await session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + count)
        .returning(ChangeCounter.value)
    )
    first = result.scalar_one() - count + 1
    now = utcnow()
    if pending:
        rows = [{**note, "seq": first + i, "at": now} for i, note in enumerate(pending.values())]
        await session.execute(insert(ChangeLog.__table__), rows)
    if events:
        base = first + len(pending)
        await session.execute(insert(OutboxEvent.__table__), [{**e, "seq": base + i} for i, e in enumerate(events)])


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    from app.events.outbox import PENDING_EVENTS_KEY

    session.info.pop(PENDING_KEY, None)
    session.info.pop(PENDING_EVENTS_KEY, None)
