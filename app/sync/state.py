"""A device's sync state (``device_sync_state``): its batch, checksum and renewal, read and written by pull and
push. Who may sync at all is :func:`app.access.sync.may_sync`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access.sync import may_sync
from app.core.db import dialect_of, rowcount, table_of, utcnow
from app.core.errors import Problem
from app.core.principal import Principal
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.cursor import current_seq, cursor_expired
from app.sync.holdings import confirmed_rows
from app.sync.models import ChangeCounter, DeviceHolding, DeviceSyncState


def require_device(principal: Principal) -> uuid.UUID:
    if not may_sync(principal):
        raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": "planner, partner, coordinator"})
    if principal.device_id is None:
        raise Problem(409, "device-required", "detail.device-required")
    return principal.device_id


async def state_and_seq(session: AsyncSession, device_id: uuid.UUID) -> tuple[DeviceSyncState | None, int]:
    """This device's sync state (if it ever pulled) and the change counter, in one statement."""
    row = (
        await session.execute(
            select(
                DeviceSyncState, select(col(ChangeCounter.value)).where(col(ChangeCounter.id) == 1).scalar_subquery()
            ).where(col(DeviceSyncState.device_id) == device_id)
        )
    ).first()
    if row is None:
        return None, await current_seq(session)
    return row[0], int(row[1])


async def sync_state(session: AsyncSession, device_id: uuid.UUID) -> DeviceSyncState:
    locked = (
        select(DeviceSyncState)
        .where(col(DeviceSyncState.device_id) == device_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    st = (await session.execute(locked)).scalar_one_or_none()
    if st is None:  # made here, or by a first pull of the device at the same moment
        await insert_state(session, device_id)
        st = (await session.execute(locked)).scalar_one()
    return st


async def record_state(session: AsyncSession, device_id: uuid.UUID, planned_batch: int, **values: Any) -> None:
    """Move the device's sync state on to what a pull planned, unless another pull of the device was recorded
    since it was planned (then 410): one compare-and-set on the batch number, which also takes the row's
    lock on PostgreSQL. A device's first pull makes the row."""
    t = table_of(DeviceSyncState)
    moved = await session.execute(
        t.update()
        .where(t.c.device_id == device_id, t.c.batch == planned_batch)
        .values(**values, version=t.c.version + 1)
    )
    if rowcount(moved) == 1:
        return
    if planned_batch == 0 and await insert_state(session, device_id, **values):
        return
    raise cursor_expired()


async def insert_state(session: AsyncSession, device_id: uuid.UUID, **values: Any) -> bool:
    """Make a device's sync state row unless one exists: ``INSERT … ON CONFLICT (device_id) DO NOTHING``, so of
    two first pulls of one device at once (PostgreSQL) one makes it and the other is told so (never a unique
    key violation). Whether this call made it."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    now = utcnow()
    dialect = dialect_of(session)
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    row = {"id": uuid.uuid4(), "version": 1, "created_at": now, "updated_at": now, "device_id": device_id, **values}
    made = await session.execute(
        make(table_of(DeviceSyncState)).values(**row).on_conflict_do_nothing(index_elements=["device_id"])
    )
    return rowcount(made) == 1


async def confirm_batch(session: AsyncSession, device_id: uuid.UUID, batch: int, *, lost: bool) -> None:
    """The device received every batch up to ``batch``; sends of later batches (``lost``: the device's last batch is
    later) were lost. By the rules of :func:`confirmed_rows`, the deletes it received go, and (if any were lost) the
    lost sends are forgotten: a row that held nothing before goes, the others' sends are cleared. Each statement is
    a range of a (device, sent batch) index as long as what it removes or clears.

    The sends received are not rewritten: the rules read a send of a batch up to the device's cursor as held, and
    the next send of the same record folds it into what is held (:func:`app.sync.holdings.folded`). So confirming
    costs no write per record received (a first sync's page, a record sent to every phone of a team)."""
    dh = DeviceHolding
    # 'delete' written into the statement, not bound: a generic plan (PostgreSQL's, once a prepared statement has
    # run five times) can then still use the partial index of the deletes, rather than every holding of the device
    deletes = col(dh.sent_op) == literal_column("'delete'")
    await session.execute(delete(dh).where(col(dh.device_id) == device_id, deletes, col(dh.sent_batch) <= batch))
    if not lost:
        return
    c = confirmed_rows(device_id, batch)
    await session.execute(delete(dh).where(col(dh.device_id) == device_id, c.lost_unheld))
    await session.execute(
        update(dh)
        .where(col(dh.device_id) == device_id, col(dh.sent_batch) > batch)
        .values(sent_version=None, sent_view=None, sent_op=None, sent_batch=None)
        .execution_options(synchronize_session=False)
    )
