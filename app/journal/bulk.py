"""Versioned updates of a batch, written at its end in a few statements (a sync push: docs/sync.md#push).

The ORM writes an update of a versioned row (``version_id_col``) one statement per row, so that it can check
each row's count. While a batch is on (:func:`start`), :func:`update` instead changes the object in the
session as if the change were stored, notes it for sync pulls (:func:`app.journal.changes.note_change`) and
keeps it; :func:`write` then stores all of them with one ``UPDATE … FROM (VALUES …) … RETURNING id`` per
table and set of columns (per 500 rows), each row guarded by the version it had when it was read. A row whose
version moved meanwhile raises :class:`BulkConflict`: the caller rolls the batch back (:func:`forget` expires
the objects it changed) and replays it the ordinary way, one row at a time.

Outside a batch :func:`update` sets the attributes and the ORM writes them as usual.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, column, values
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.core.db import table_of, utcnow
from app.journal.changes import note_change

#: The ``session.info`` key of the batch.
BULK_KEY = "ongi_bulk"
#: Rows per statement (each row binds its id, two versions and its columns: well below both databases' limits).
CHUNK = 500


class BulkConflict(Exception):
    """A row's version moved since it was read: the batch must be replayed row by row."""


@dataclass(eq=False)
class _Pending:
    obj: Any
    expected: int
    values: dict[str, Any]


@dataclass(eq=False)
class Bulk:
    updates: dict[tuple[type[Any], uuid.UUID], _Pending] = field(default_factory=dict)
    #: Work to do once the updates are stored, by key: (what does it, the ids it is for).
    after: dict[str, tuple[Callable[[AsyncSession, set[uuid.UUID]], Awaitable[Any]], set[uuid.UUID]]] = field(
        default_factory=dict
    )


def start(session: AsyncSession) -> None:
    session.info[BULK_KEY] = Bulk()


def end(session: AsyncSession) -> None:
    session.info.pop(BULK_KEY, None)


def active(session: AsyncSession) -> Bulk | None:
    """The batch, when one is on."""
    bulk: Bulk | None = session.info.get(BULK_KEY)
    return bulk


def update(session: AsyncSession, obj: Any, changes: dict[str, Any]) -> None:
    """Change ``obj`` (a versioned row already stored): in a batch, kept for :func:`write` and the object's
    ``version`` raised at once; otherwise set on it for the ORM to write."""
    bulk = active(session)
    if bulk is None or not changes or session.sync_session.is_modified(obj):
        for name, value in changes.items():
            setattr(obj, name, value)
        return
    key = (type(obj), obj.id)
    pending = bulk.updates.get(key)
    if pending is None:
        pending = bulk.updates[key] = _Pending(obj, obj.version, {})
    now = utcnow()
    pending.values.update(changes)
    pending.values["updated_at"] = now
    for name, value in changes.items():
        set_committed_value(obj, name, value)
    set_committed_value(obj, "updated_at", now)
    set_committed_value(obj, "version", obj.version + 1)
    note_change(session, obj)


def absorb(session: AsyncSession, obj: Any) -> bool:
    """In a batch: take the column changes already set on ``obj`` (a versioned row already stored, changed
    through its attributes by rules that know nothing of batches) out of the ORM's hands and keep them as
    :func:`update` does. False when no batch is on or ``obj`` is not stored yet: the ORM writes it."""
    if active(session) is None:
        return False
    state = sa_inspect(obj)
    if not state.persistent:
        return False
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        added = state.attrs[attr.key].history.added
        if added:
            changes[attr.key] = added[0]
    for name, value in changes.items():
        set_committed_value(obj, name, value)  # no longer pending for the ORM's flush
    update(session, obj, changes)
    return True


def later(
    session: AsyncSession, key: str, fn: Callable[[AsyncSession, set[uuid.UUID]], Awaitable[Any]], item: uuid.UUID
) -> None:
    """In a batch: call ``fn(session, ids)`` once after :func:`write` stored the updates, with every ``item``
    given under ``key`` (e.g. the households whose search keys must be rewritten)."""
    bulk = active(session)
    assert bulk is not None
    bulk.after.setdefault(key, (fn, set()))[1].add(item)


async def write(session: AsyncSession) -> int:
    """Store the batch's updates; :class:`BulkConflict` when a row's version moved. Returns the statements."""
    bulk = active(session)
    if bulk is None:
        return 0
    groups: dict[tuple[Any, tuple[str, ...]], list[_Pending]] = {}
    for pending in bulk.updates.values():
        table = table_of(type(pending.obj))
        groups.setdefault((table, tuple(sorted(pending.values))), []).append(pending)
    statements = 0
    for (table, names), rows in groups.items():
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            given = values(
                column("key_id", table.c.id.type),
                column("old_version", Integer),
                column("new_version", Integer),
                *(column(name, table.c[name].type) for name in names),
                name="given",
            ).data([(p.obj.id, p.expected, p.obj.version, *(p.values[n] for n in names)) for p in chunk])
            given_cte = given.cte("given")
            stmt = (
                sql_update(table)
                .where(table.c.id == given_cte.c.key_id, table.c.version == given_cte.c.old_version)
                .values(version=given_cte.c.new_version, **{name: given_cte.c[name] for name in names})
                .returning(table.c.id)
            )
            stored = set((await session.execute(stmt)).scalars())
            statements += 1
            if len(stored) != len(chunk):
                raise BulkConflict
    for fn, ids in bulk.after.values():
        await fn(session, ids)
    bulk.after.clear()
    return statements


def forget(session: AsyncSession) -> None:
    """After the batch was rolled back: expire the objects it changed (the rollback does not know them)."""
    bulk = active(session)
    if bulk is None:
        return
    for pending in bulk.updates.values():
        if sa_inspect(pending.obj).persistent:  # one inserted within the batch left the session with it
            session.expire(pending.obj)
    bulk.updates.clear()
    bulk.after.clear()
