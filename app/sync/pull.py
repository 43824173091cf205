"""Pull and ack (docs/sync.md); push is :mod:`app.sync.push`.

**Pull** compares what the device may hold (the entities declared in the domains, :mod:`app.sync.scope`)
with what the server knows it holds (``device_holding``), at a cost that follows what it sends. The cursor
names the last batch the device received; presenting it confirms that batch, while anything sent in a later
batch (whose response was lost) is forgotten and sent again. A pull is planned (read), loaded (read) and
recorded (one write), in one of three ways:

* **walk** (:func:`app.sync.plan.plan_walk`): a first sync, page by page, each entity by keyset over its ids;
* **content** (:func:`app.sync.plan.plan_content`): the device is up to date but for changes of entities declared
  ``content``; the change log from the cursor (numbered in commit order by ``app.journal.changes``, so nothing
  committed after the cursor is skipped) is matched against the device's holdings by key;
* **diff** (:func:`app.sync.plan.plan_diff`): the scope itself may have moved: the whole scope against the holdings.

The checksum (:mod:`app.sync.checksum`) is additive: kept per device from what each pull sends.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    or_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.db import rowcount, table_of, utcnow
from app.core.inserts import insert_rows
from app.core.principal import Principal
from app.core.state import AppState
from app.core.times import rfc3339
from app.core.uow import begin_write
from app.journal import audit
from app.sync import checksum
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.cursor import Cursor, cursor_expired, nothing_new
from app.sync.holdings import chunks, folded
from app.sync.models import DeviceHolding, DeviceSyncState
from app.sync.plan import Plan, load, plan_content, plan_diff, plan_walk
from app.sync.scope import Key, adapters
from app.sync.sift import changes_since, concerns_device, content_kinds
from app.sync.state import confirm_batch, record_state, require_device, state_and_seq


async def pull(
    state: AppState, session: AsyncSession, principal: Principal, raw_cursor: str | None, limit: int
) -> dict[str, Any]:
    """Plan (read), load (read), record (one write): see :func:`plan_walk`, :func:`plan_content`,
    :func:`plan_diff`, :func:`load` and :func:`record`."""
    device_id = require_device(principal)
    now = utcnow()
    today = now.astimezone(state.settings.tz).date()
    st, seq = await state_and_seq(session, device_id)
    cursor = Cursor.decode(state, raw_cursor) if raw_cursor else None
    changes: list[Any] | None = None
    end = seq  # where the changes read end: ``seq``, or a slice's end when the device is far behind
    if raw_cursor:
        if cursor is None or st is None or cursor.device_id != device_id or cursor.batch > st.batch or cursor.seq > seq:
            raise cursor_expired()
        settled = partial(
            nothing_new,
            cursor,
            batch=st.batch,
            has_more=st.has_more,
            renew_after=st.renew_after,
            now=now,
            today=today.isoformat(),
        )
        if settled(seq=seq):
            state.metrics.sync_pulls.labels("unchanged").inc()
            return {"cursor": raw_cursor, "has_more": False, "checksum": st.checksum, "changes": []}
        if settled(seq=cursor.seq) and cursor.seq < seq:
            changes, end = await changes_since(session, cursor.seq, seq)
    plan: Plan | None = None
    if changes is not None:
        assert cursor is not None
        assert st is not None
        content = content_kinds()[0]
        if all(row[0] in content for row in changes):
            plan = await plan_content(
                session, principal, device_id, cursor, st, end, changes, now, today, limit, more_in_log=end < seq
            )
            concerned = plan is not None
        else:
            concerned = await concerns_device(session, principal, device_id, changes)
        if not concerned:  # others' changes only: nothing to send, nothing to write; the cursor moves past them
            moved = Cursor(device_id, cursor.batch, end, cursor.day).encode(state)
            state.metrics.sync_pulls.labels("sifted").inc()
            return {"cursor": moved, "has_more": end < seq, "checksum": st.checksum, "changes": []}
    if plan is None:
        if cursor is None or cursor.walk:
            plan = await plan_walk(session, principal, device_id, cursor, st, seq, now, today, limit)
        else:
            plan = await plan_diff(session, principal, device_id, cursor, st, seq, now, today, limit)
    loaded = await load(session, plan)
    return await record(state, session, principal, device_id, cursor, st, plan, loaded, now)


async def record(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    cursor: Cursor | None,
    st: DeviceSyncState | None,
    plan: Plan,
    loaded: dict[Key, dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """Write what the plan sends (a constant number of statements, rows as many as sent) and answer it.
    The write lock (one writer at a time on SQLite) is taken only here; the plan stands if no other pull of
    this device was recorded since it was made (else 410)."""
    lease = timedelta(hours=state.settings.sync_lease_hours)
    planned_batch = st.batch if st is not None else 0
    renew_after = st.renew_after if st is not None else None
    batch = planned_batch + 1
    hold_until = now + lease
    hold_text = rfc3339(hold_until)
    total = plan.base
    changes: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    sent_rows: list[dict[str, Any]] = []
    #: Every record of a household's data this pull sends, with whose it is (docs/access.md#audit): audited at once.
    sent_personal: list[tuple[str, uuid.UUID, uuid.UUID | None]] = []
    for key in plan.page:
        entity, eid = key
        held = plan.holdings.get(key)
        was = checksum.held(entity, eid, held.held_version, held.revoked) if held is not None else 0
        item = plan.scope.get(key)
        if key in plan.upserts:
            assert item is not None
            data = loaded.get(key)
            if data is None:  # vanished between scope and load: the next pull settles it
                continue
            op, version = "upsert", item.version
            changes.append(
                {
                    "entity": entity,
                    "id": str(eid),
                    "op": op,
                    "version": version,
                    "data": data,
                    "hold_until": hold_text,
                }
            )
            total += checksum.record_hash(entity, eid, version) - was
            if item.household_id is not None:
                sent_personal.append((entity, eid, item.household_id))
        elif key in plan.deleted:
            assert held is not None
            op, version = "delete", (held.held_version or 0) + 1
            changes.append({"entity": entity, "id": str(eid), "op": op, "version": version})
            total -= was
        else:
            op, version = "revoke", None
            changes.append({"entity": entity, "id": str(eid), "op": op})
            total -= was
        household_id = item.household_id if item is not None else held.household_id if held is not None else None
        view = item.view if item is not None and op == "upsert" else None
        if held is not None:
            sent_rows.append(
                {
                    "b_id": held.id,
                    "sent_version": version,
                    "sent_view": view,
                    "sent_op": op,
                    "household_id": household_id,
                }
            )
        else:
            new_rows.append(
                {
                    "id": uuid.uuid4(),
                    "entity": entity,
                    "entity_id": eid,
                    "sent_version": version,
                    "sent_view": view,
                    "sent_op": op,
                    "household_id": household_id,
                }
            )
    response: dict[str, Any] = {}
    renew = not plan.has_more and (plan.kind == "walk" or renew_after is None or now >= renew_after)
    # the lease on everything the device holds (docs/sync.md#pull hold_until): kept once, on the device's state
    if renew:
        renew_after = now + lease / 2
        response["hold_until"] = hold_text
    for declared in adapters():  # e.g. a consent running out changes the scope with no write: look again then
        expiry = await declared.rescope(session, plan.ctx, now) if declared.rescope is not None else None
        if expiry is not None and (renew_after is None or expiry < renew_after):
            renew_after = expiry
    sum_text = checksum.encode(total)

    await begin_write(session)
    await record_state(
        session,
        device_id,
        planned_batch,
        batch=batch,
        seq=plan.seq,
        # a content pull that stops short is resumed from its change number, by the change log (not a diff)
        has_more=plan.has_more and plan.kind != "content",
        scope_day=plan.day,
        checksum=sum_text,
        last_pull_at=now,
        renew_after=renew_after,
        **({"hold_until": hold_until} if renew else {}),
    )
    if cursor is not None:
        await confirm_batch(session, device_id, cursor.batch, lost=cursor.batch < planned_batch)
    else:
        await session.execute(delete(DeviceHolding).where(col(DeviceHolding.device_id) == device_id))
    if new_rows:  # bound column by column, what the rows share once (a first sync's page: a thousand rows)
        shared = {"version": 1, "created_at": now, "updated_at": now, "device_id": device_id}
        shared |= {"held_version": None, "held_view": None, "revoked_at": None}
        shared |= {"sent_batch": batch, "sent_at": now, "hold_until": hold_until}
        await insert_rows(session, table_of(DeviceHolding), new_rows, shared=shared)
    if sent_rows:  # held before (so the device presented a cursor): what it received is folded in, then the send
        assert cursor is not None
        dh = table_of(DeviceHolding)
        await session.execute(
            dh.update()
            .where(dh.c.id == bindparam("b_id"))
            .values(
                **folded(device_id, cursor.batch),
                sent_version=bindparam("sent_version"),
                sent_view=bindparam("sent_view"),
                sent_op=bindparam("sent_op"),
                sent_batch=batch,
                sent_at=now,
                hold_until=hold_until,
                household_id=bindparam("household_id"),
            ),
            sent_rows,
        )
    if sent_personal:
        await audit.record_each(session, principal, "sync.pull", sent_personal, purpose="sync")
    out = Cursor(device_id, batch, plan.seq, plan.day, plan.walk).encode(state)
    state.metrics.sync_pulls.labels({"content": "partial"}.get(plan.kind, plan.kind)).inc()
    return {"cursor": out, "has_more": plan.has_more, "checksum": sum_text, "changes": changes, **response}


async def ack(session: AsyncSession, principal: Principal, purged: list[tuple[str | None, uuid.UUID]]) -> int:
    device_id = require_device(principal)
    if not purged:
        return 0
    dh = DeviceHolding
    conditions = [
        and_(col(dh.entity_id) == eid, col(dh.entity) == entity) if entity else col(dh.entity_id) == eid
        for entity, eid in purged
    ]
    removed = 0
    for chunk in chunks(conditions, 200):
        result = await session.execute(
            delete(dh).where(
                col(dh.device_id) == device_id,
                or_(col(dh.revoked_at).is_not(None), col(dh.sent_op) == "revoke"),
                or_(*chunk),
            )
        )
        removed += rowcount(result)
    await audit.record(
        session, principal, "sync.ack", entity="device", entity_id=device_id, details={"purged": removed}
    )
    return removed
