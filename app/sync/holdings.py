"""What the server knows a device holds (``device_holding``): the holdings a plan compares with the scope, the
checksum base, tombstones, and the holdings listing of the admin API.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    String,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.models import Device
from app.core.db import among, core_rows, dialect_of, table_of
from app.sync import checksum
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.models import ChangeLog, DeviceHolding, DeviceSyncState
from app.sync.schemas import HoldingPublic
from app.sync.scope import Key


async def tombstoned(session: AsyncSession, keys: list[Key], models: dict[str, Any]) -> set[Key]:
    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    for entity, eid in keys:
        by_entity[entity].append(eid)
    out: set[Key] = set()
    dialect = dialect_of(session)
    for entity, ids in by_entity.items():
        model = models.get(entity)
        if model is None or not hasattr(model, "deleted_at"):
            continue
        for chunk in chunks(ids):
            rows = await session.execute(
                select(model.id).where(among(dialect, model.id, chunk), model.deleted_at.is_not(None))
            )
            out |= {(entity, eid) for (eid,) in rows}
    return out


def chunks(ids: list[Any], size: int = 500) -> list[list[Any]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def last_seqs(session: AsyncSession, keys: list[Key]) -> dict[Key, int]:
    """The last change number of each record (per entity, so the (entity, entity_id) index serves it)."""
    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    for entity, eid in keys:
        by_entity[entity].append(eid)
    out: dict[Key, int] = {}
    dialect = dialect_of(session)
    for entity, ids in by_entity.items():
        for chunk in chunks(ids):
            rows = await session.execute(
                select(col(ChangeLog.entity_id), func.max(col(ChangeLog.seq)))
                .where(col(ChangeLog.entity) == entity, among(dialect, col(ChangeLog.entity_id), chunk))
                .group_by(col(ChangeLog.entity_id))
            )
            out.update({(entity, i): seq for i, seq in rows})
    return out


@dataclass(slots=True)
class Held:
    """A device's holding of one record, as a pull reads it (once the batch its cursor names is confirmed)."""

    id: uuid.UUID
    household_id: uuid.UUID | None
    held_version: int | None
    held_view: str | None
    revoked: bool

    @property
    def holds(self) -> bool:
        return self.held_version is not None and not self.revoked


class ConfirmedRows(NamedTuple):
    upsert: Any  # sent in a received batch: an upsert, a revoke, a delete
    revoke: Any
    deleted: Any
    lost_unheld: Any  # sent in a lost batch, never held before
    version: Any  # what is held once confirmed
    view: Any
    revoked: Any


def confirmed_rows(device_id: uuid.UUID, batch: int) -> ConfirmedRows:
    """The rules of confirming ``batch`` as SQL: ``confirm_batch`` writes them, a planning pull reads by them."""
    dh = DeviceHolding
    sent = and_(col(dh.sent_batch).is_not(None), col(dh.sent_batch) <= batch)
    upsert = and_(sent, col(dh.sent_op) == "upsert")
    revoke = and_(sent, col(dh.sent_op) == "revoke")
    return ConfirmedRows(
        upsert=upsert,
        revoke=revoke,
        deleted=and_(sent, func.coalesce(col(dh.sent_op), "") == "delete"),
        lost_unheld=and_(
            col(dh.sent_batch).is_not(None),
            col(dh.sent_batch) > batch,
            col(dh.held_version).is_(None),
            col(dh.revoked_at).is_(None),
        ),
        version=case((upsert, col(dh.sent_version)), else_=col(dh.held_version)),
        view=case((upsert, col(dh.sent_view)), else_=col(dh.held_view)),
        revoked=case((upsert, literal(False)), (revoke, literal(True)), else_=col(dh.revoked_at).is_not(None)),
    )


def folded(device_id: uuid.UUID, batch: int) -> dict[str, Any]:
    """What a holding holds once ``batch`` is confirmed, as the values of an ``UPDATE`` that sends it again: the
    last send, received (a send after ``batch`` was forgotten first, :func:`app.sync.state.confirm_batch`), becomes
    what is held, and the row is free for the new send. A revoke received is dated by its send."""
    dh = table_of(DeviceHolding)
    c = confirmed_rows(device_id, batch)
    return {
        "held_version": c.version,
        "held_view": c.view,
        "revoked_at": case((c.upsert, null()), (c.revoke, dh.c.sent_at), else_=dh.c.revoked_at),
    }


def _held_columns(device_id: uuid.UUID, batch: int, every: bool) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The columns a planning pull reads of a holding (as it stands once ``batch`` is confirmed) and the
    conditions of the rows that remain (``every``: also those confirming ``batch`` would delete)."""
    dh = DeviceHolding
    c = confirmed_rows(device_id, batch)
    columns = (
        type_coerce(col(dh.id), String),
        col(dh.entity),
        type_coerce(col(dh.entity_id), String),
        type_coerce(col(dh.household_id), String),
        c.version,
        c.view,
        c.revoked,
    )
    remain = (col(dh.device_id) == device_id, true() if every else ~or_(c.deleted, c.lost_unheld))
    return columns, remain


async def _collect(session: AsyncSession, parts: list[Any]) -> dict[Key, Held]:
    """The holdings the selects ``parts`` read, united in one statement."""
    if not parts:
        return {}
    query: Any = parts[0] if len(parts) == 1 else union_all(*parts)
    holdings: dict[Key, Held] = {}
    for raw_id, entity, raw_eid, raw_household, held_version, held_view, is_revoked in await core_rows(session, query):
        household = None if raw_household is None else as_uuid(raw_household)
        holdings[(entity, as_uuid(raw_eid))] = Held(
            as_uuid(raw_id), household, held_version, held_view, bool(is_revoked)
        )
    return holdings


async def read_holdings(
    session: AsyncSession,
    device_id: uuid.UUID,
    batch: int,
    keys: Iterable[Key] | None = None,
    homes: Iterable[uuid.UUID] = (),
    *,
    home_entities: tuple[str, ...] | None = ("visit", "case"),
    every: bool = False,
) -> dict[Key, Held]:
    """What the device holds once ``batch`` is confirmed: every holding, or with ``keys`` those of these
    records (and of the households ``homes``: their ``home_entities``, ``None`` for all), each part one
    indexed lookup on the (device, entity, entity_id) key or the (device, household, entity) index, united in
    one statement. ``every``: also the rows confirming ``batch`` would delete (any trace of a send)."""
    dh = DeviceHolding
    columns, remain = _held_columns(device_id, batch, every)
    if keys is None:
        return await _collect(session, [select(*columns).where(*remain)])
    by_entity: dict[str, set[uuid.UUID]] = defaultdict(set)
    for entity, eid in keys:
        by_entity[entity].add(eid)
    dialect = dialect_of(session)
    parts = [
        select(*columns).where(*remain, col(dh.entity) == entity, among(dialect, col(dh.entity_id), sorted(ids)))
        for entity, ids in sorted(by_entity.items())
    ]
    households = sorted(set(homes))
    if households:
        at_home = among(dialect, col(dh.household_id), households)
        parts.append(
            select(*columns).where(*remain, at_home, col(dh.entity).in_(home_entities) if home_entities else true())
        )
    return await _collect(session, parts)


async def read_spans(
    session: AsyncSession, device_id: uuid.UUID, batch: int, spans: Iterable[tuple[str, uuid.UUID | None, uuid.UUID]]
) -> dict[Key, Held]:
    """:func:`read_holdings` of each ``(entity, after, last]`` id range (a first sync's page), a range of the
    unique key, which the planner reads by the index even before it has statistics of a fast-growing table (an
    ``IN`` list of a page's ids was read as a filter over all the device's holdings until ANALYZE)."""
    dh = DeviceHolding
    columns, remain = _held_columns(device_id, batch, False)
    ranges = [
        select(*columns).where(
            *remain,
            col(dh.entity) == entity,
            true() if after is None else col(dh.entity_id) > after,
            col(dh.entity_id) <= last,
        )
        for entity, after, last in spans
    ]
    return await _collect(session, ranges)


def as_uuid(raw: Any) -> uuid.UUID:
    """An id as the database returns it unconverted (SQLite: 32 hex digits; PostgreSQL: a UUID)."""
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(raw)


async def base_sum(session: AsyncSession, device_id: uuid.UUID, st: DeviceSyncState | None, batch: int) -> int:
    """The checksum sum (:mod:`app.sync.checksum`) of what the device holds once ``batch`` is confirmed.

    The stored checksum is that of everything sent so far, as if every batch arrived: take off what the
    sends of later batches (lost, since the device presents ``batch``) added. Those are the holdings with
    an unconfirmed send after ``batch``: a read of the (device, sent batch) index, as long as what was lost.
    A device whose stored checksum is of another form is summed over its holdings, once."""
    if st is None:
        return 0
    total = checksum.decode(st.checksum)
    if total is None:
        holdings = await read_holdings(session, device_id, batch)
        return sum(checksum.held(e, eid, h.held_version, h.revoked) for (e, eid), h in holdings.items())
    dh = DeviceHolding
    rows = await core_rows(
        session,
        select(
            col(dh.entity),
            type_coerce(col(dh.entity_id), String),
            col(dh.held_version),
            col(dh.revoked_at).is_not(None),
            col(dh.sent_op),
            col(dh.sent_version),
        ).where(col(dh.device_id) == device_id, col(dh.sent_batch) > batch),
    )
    for entity, raw, held_version, revoked, op, sent_version in rows:
        eid = as_uuid(raw)
        sent = checksum.held(entity, eid, sent_version) if op == "upsert" else 0
        total -= sent - checksum.held(entity, eid, held_version, bool(revoked))
    return total


def held_as_told(rows: list[DeviceHolding], st: DeviceSyncState | None) -> list[HoldingPublic]:
    """The holdings as the phone was told them (as received, but for the device's last batch, which may yet
    be lost): each record's lease is the later of the one sent with it and the
    device's last renewal (``st.hold_until``), which covers whatever the device still held (not what it was told
    to revoke)."""
    renewed = st.hold_until if st is not None else None
    last = st.batch if st is not None else 0
    out = []
    for row in rows:
        item = HoldingPublic.model_validate(row)
        # a send before the device's last batch was received (sends of lost batches are cleared when the device
        # comes back with an older cursor, app.sync.state.confirm_batch): what the device holds
        if row.sent_batch is not None and row.sent_batch < last:
            if row.sent_op == "delete":
                continue
            if row.sent_op == "upsert":
                item.held_version, item.revoked_at = row.sent_version, None
            elif row.sent_op == "revoke":
                item.revoked_at = row.sent_at
            item.sent_version = item.sent_op = None
        told_to_go = item.revoked_at is not None or item.sent_op == "revoke"
        if not told_to_go and renewed is not None and (item.hold_until is None or item.hold_until < renewed):
            item.hold_until = renewed
        out.append(item)
    return out


async def holdings_of(session: AsyncSession, device_id: uuid.UUID) -> list[DeviceHolding]:
    return list(
        (
            await session.execute(
                select(DeviceHolding)
                .where(col(DeviceHolding.device_id) == device_id)
                .order_by(col(DeviceHolding.entity), col(DeviceHolding.entity_id))
            )
        ).scalars()
    )


async def device_of(session: AsyncSession, device_id: uuid.UUID) -> Device | None:
    return await session.get(Device, device_id)
