"""Change notes of records that phones hold, numbered at commit, for sync pulls (docs/sync.md).

A table joins by setting ``__sync_entity__`` (the entity name used in sync) and, where it has them,
``household_id`` / ``visit_id`` / ``case_id`` columns. Every ORM insert, update or delete of such a row
is noted in the session's journal (:func:`app.core.uow.journal_of`) by an ``after_flush`` hook; just before
commit :func:`number_changes` takes the change counter (a row lock held until commit), numbers the notes and
the outbox events (``app.journal.outbox``) in order and writes them to ``change_log`` and ``outbox_event``.

Write syncable rows through the ORM (``session.add`` / attribute changes), not with bulk ``update()``,
so that the change is seen (or note it with :func:`note_change`). A soft delete sets ``deleted_at``; it is
logged as ``delete``. Bulk writers that bypass the session (the demo generator) number their rows with
:func:`write_numbered`, the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.db import utcnow
from app.core.uow import ChangeNote, Mark, journal_of, register_hook
from app.events.models import OutboxEvent
from app.sync.models import ChangeCounter, ChangeLog


def change_note(entity: str, row: Any, op: str = "upsert") -> ChangeNote:
    """The change note of one row of a synced ``entity`` (an object, or a mapping of its columns)."""
    get = row.get if isinstance(row, dict) else lambda name, default=None: getattr(row, name, default)
    if op == "upsert" and get("deleted_at") is not None:
        op = "delete"
    row_id = get("id")
    return {
        "entity": entity,
        "entity_id": row_id,
        "version": get("version", 1),
        "op": op,
        "household_id": get("household_id") if entity != "household" else row_id,
        "visit_id": get("visit_id") if entity != "visit" else row_id,
        "case_id": get("case_id") if entity != "case" else row_id,
    }


def _note(session: Session, obj: Any, op: str) -> None:
    entity = getattr(type(obj), "__sync_entity__", None)
    if entity is None:
        return
    pending = journal_of(session).changes
    key = (entity, obj.id)
    pending.pop(key, None)  # re-insert so that the latest change of a record sorts last
    pending[key] = change_note(entity, obj, op)


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


def pending_mark(session: AsyncSession) -> Mark:
    """A copy of the pending change notes and events, to restore when a savepoint is rolled back."""
    return journal_of(session).mark()


def pending_restore(session: AsyncSession, mark: Mark) -> None:
    journal_of(session).restore(mark)


async def _reserve(session: AsyncSession, count: int) -> int:
    """Take ``count`` numbers from the change counter (its row stays locked until commit); the first one."""
    result = await session.execute(
        update(ChangeCounter)
        .where(col(ChangeCounter.id) == 1)
        .values(value=col(ChangeCounter.value) + count)
        .returning(col(ChangeCounter.value))
    )
    return int(result.scalar_one()) - count + 1


async def write_numbered(
    session: AsyncSession,
    notes: Iterable[ChangeNote],
    events: Iterable[dict[str, Any]] = (),
    *,
    at: datetime | None = None,
    chunk: int | None = None,
) -> int:
    """Number ``notes`` then ``events`` from the shared counter, in order, and write them (``chunk``: rows per
    INSERT, default all at once). Returns how many were written."""
    notes, events = list(notes), list(events)
    count = len(notes) + len(events)
    if not count:
        return 0
    first = await _reserve(session, count)
    at = at or utcnow()
    step = chunk or count
    if notes:
        rows = [{**note, "seq": first + i, "at": at} for i, note in enumerate(notes)]
        for i in range(0, len(rows), step):
            await session.execute(insert(ChangeLog.__table__), rows[i : i + step])  # type: ignore[attr-defined]
    if events:
        base = first + len(notes)
        rows = [{**e, "seq": base + i} for i, e in enumerate(events)]
        for i in range(0, len(rows), step):
            await session.execute(insert(OutboxEvent.__table__), rows[i : i + step])  # type: ignore[attr-defined]
    return count


async def number_changes(session: AsyncSession) -> None:
    """Write the pending change notes and outbox events, numbered in commit order. Runs right before
    commit; takes the counter row last, so the lock is held only for the commit itself."""
    await session.flush()
    pending, events = journal_of(session).take_pending()
    await write_numbered(session, pending.values(), events)


def _after_rollback(session: Session) -> None:
    journal_of(session).take_pending()


def install() -> None:
    register_hook(after_flush=_after_flush, before_commit=number_changes, after_rollback=_after_rollback)
