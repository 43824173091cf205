"""Pull and ack (DESIGN §4); push is :mod:`app.sync.push`.

**Pull** compares what the device may hold (the entities declared in the domains, :mod:`app.sync.scope`)
with what the server knows it holds (``device_holding``), at a cost that follows what it sends. The cursor
names the last batch the device received; presenting it confirms that batch, while anything sent in a later
batch (whose response was lost) is forgotten and sent again. A pull is planned (read), loaded (read) and
recorded (one write), in one of three ways:

* **walk** (:func:`plan_walk`): a first sync, page by page, each entity by keyset over its ids;
* **content** (:func:`plan_content`): the device is up to date but for changes of entities declared
  ``content``; the change log from the cursor (numbered in commit order by ``app.core.changes``, so nothing
  committed after the cursor is skipped) is matched against the device's holdings by key;
* **diff** (:func:`plan_diff`): the scope itself may have moved: the whole scope against the holdings.

The checksum (:mod:`app.sync.checksum`) is additive: kept per device from what each pull sends.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import Device, Role
from app.auth.principal import Principal
from app.core.db import begin_write, utcnow
from app.core.errors import Problem
from app.core.state import AppState
from app.core.times import rfc3339
from app.sync import checksum
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.models import ChangeCounter, ChangeLog, DeviceHolding, DeviceSyncState
from app.sync.scope import Context, Item, Key, Walk, adapters, context_for

SYNC_ROLES = (Role.planner, Role.partner, Role.coordinator)


def cursor_expired() -> Problem:
    return Problem(410, "cursor-expired", "detail.cursor-expired")


@dataclass(frozen=True)
class Cursor:
    device_id: uuid.UUID
    batch: int
    seq: int
    day: str
    #: In a first sync's walk: where the next page starts (``entity index`` or ``entity index-last id``).
    walk: str = ""

    def encode(self, state: AppState) -> str:
        body = f"1.{self.device_id.hex}.{self.batch}.{self.seq}.{self.day}"
        if self.walk:
            body = f"2.{self.device_id.hex}.{self.batch}.{self.seq}.{self.day}.{self.walk}"
        mac = state.security.mac(body.encode(), context="sync-cursor")
        return base64.urlsafe_b64encode(f"{body}.{mac}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, state: AppState, raw: str) -> Cursor | None:
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            version, device, batch, seq, day, *walk, mac = text.split(".")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if (version, len(walk)) not in (("1", 0), ("2", 1)):
            return None
        body = ".".join([version, device, batch, seq, day, *walk])
        if state.security.mac(body.encode(), context="sync-cursor") != mac:
            return None
        try:
            cursor = cls(uuid.UUID(hex=device), int(batch), int(seq), day, walk[0] if walk else "")
        except ValueError:
            return None
        return cursor if cursor.walk_at() is not None or not cursor.walk else None

    def walk_at(self) -> tuple[int, uuid.UUID | None] | None:
        """The walk's position: the index of the entity it is at, and the last id sent of it."""
        if not self.walk:
            return None
        index, _, after = self.walk.partition("-")
        try:
            return int(index), uuid.UUID(hex=after) if after else None
        except ValueError:
            return None


def nothing_new(
    cursor: Cursor, *, batch: int, has_more: bool, seq: int, renew_after: datetime | None, now: datetime, today: str
) -> bool:
    """Whether a pull presenting ``cursor`` has nothing to receive: the shared rule of both paths."""
    return (
        cursor.batch == batch
        and not has_more
        and cursor.seq == seq
        and cursor.day == today
        and renew_after is not None
        and now < renew_after
    )


def require_device(principal: Principal) -> uuid.UUID:
    if principal.role not in SYNC_ROLES:
        raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": "planner, partner, coordinator"})
    if principal.device_id is None:
        raise Problem(409, "device-required", "detail.device-required")
    return principal.device_id


async def current_seq(session: AsyncSession) -> int:
    return int((await session.execute(select(ChangeCounter.value).where(ChangeCounter.id == 1))).scalar_one())


async def _state_and_seq(session: AsyncSession, device_id: uuid.UUID) -> tuple[DeviceSyncState | None, int]:
    """This device's sync state (if it ever pulled) and the change counter, in one statement."""
    row = (
        await session.execute(
            select(DeviceSyncState, select(ChangeCounter.value).where(ChangeCounter.id == 1).scalar_subquery()).where(
                DeviceSyncState.device_id == device_id
            )
        )
    ).first()
    if row is None:
        return None, await current_seq(session)
    return row[0], int(row[1])


async def _sync_state(session: AsyncSession, device_id: uuid.UUID) -> DeviceSyncState:
    locked = (
        select(DeviceSyncState)
        .where(DeviceSyncState.device_id == device_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    st = (await session.execute(locked)).scalar_one_or_none()
    if st is None:  # made here, or by a first pull of the device at the same moment
        await _insert_state(session, device_id)
        st = (await session.execute(locked)).scalar_one()
    return st


async def _record_state(session: AsyncSession, device_id: uuid.UUID, planned_batch: int, **values: Any) -> None:
    """Move the device's sync state on to what a pull planned, unless another pull of the device was recorded
    since it was planned (then 410): one compare-and-set on the batch number, which also takes the row's
    lock on PostgreSQL. A device's first pull makes the row."""
    t = DeviceSyncState.__table__
    moved = await session.execute(
        t.update()
        .where(t.c.device_id == device_id, t.c.batch == planned_batch)
        .values(**values, version=t.c.version + 1)
    )
    if moved.rowcount == 1:
        return
    if planned_batch == 0 and await _insert_state(session, device_id, **values):
        return
    raise cursor_expired()


async def _insert_state(session: AsyncSession, device_id: uuid.UUID, **values: Any) -> bool:
    """Make a device's sync state row unless one exists: ``INSERT … ON CONFLICT (device_id) DO NOTHING``, so of
    two first pulls of one device at once (PostgreSQL) one makes it and the other is told so (never a unique
    key violation). Whether this call made it."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    now = utcnow()
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    row = {"id": uuid.uuid4(), "version": 1, "created_at": now, "updated_at": now, "device_id": device_id, **values}
    made = await session.execute(
        make(DeviceSyncState.__table__).values(**row).on_conflict_do_nothing(index_elements=["device_id"])
    )
    return bool(made.rowcount == 1)  # type: ignore[attr-defined]


async def _confirm(session: AsyncSession, device_id: uuid.UUID, batch: int, now: datetime) -> None:
    """The device received every batch up to ``batch``; later sends were lost. Two statements, by the rules
    of :func:`_confirmed`: what no longer remains goes, and every other send is settled."""
    dh = DeviceHolding
    c = _confirmed(device_id, batch)
    await session.execute(
        delete(dh).where(dh.device_id == device_id, dh.sent_batch.is_not(None), or_(c.deleted, c.lost_unheld))
    )
    await session.execute(
        update(dh)
        .where(dh.device_id == device_id, dh.sent_batch.is_not(None))
        .values(
            held_version=c.version,
            held_view=c.view,
            revoked_at=case((c.upsert, null()), (c.revoke, literal(now, dh.revoked_at.type)), else_=dh.revoked_at),
            sent_version=None,
            sent_view=None,
            sent_op=None,
            sent_batch=None,
        )
        .execution_options(synchronize_session=False)
    )


async def _tombstoned(session: AsyncSession, keys: list[Key], models: dict[str, Any]) -> set[Key]:
    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    for entity, eid in keys:
        by_entity[entity].append(eid)
    out: set[Key] = set()
    for entity, ids in by_entity.items():
        model = models.get(entity)
        if model is None or not hasattr(model, "deleted_at"):
            continue
        for chunk in _chunks(ids):
            rows = await session.execute(select(model.id).where(model.id.in_(chunk), model.deleted_at.is_not(None)))
            out |= {(entity, eid) for (eid,) in rows}
    return out


def _chunks(ids: list[Any], size: int = 500) -> list[list[Any]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def _last_seqs(session: AsyncSession, keys: list[Key]) -> dict[Key, int]:
    """The last change number of each record (per entity, so the (entity, entity_id) index serves it)."""
    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    for entity, eid in keys:
        by_entity[entity].append(eid)
    out: dict[Key, int] = {}
    for entity, ids in by_entity.items():
        for chunk in _chunks(ids):
            rows = await session.execute(
                select(ChangeLog.entity_id, func.max(ChangeLog.seq))
                .where(ChangeLog.entity == entity, ChangeLog.entity_id.in_(chunk))
                .group_by(ChangeLog.entity_id)
            )
            out.update({(entity, i): seq for i, seq in rows})
    return out


#: More changes than this since the cursor: diff rather than sift them.
SIFT_LIMIT = 500


def _kinds() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """From the declarations: the entities whose changes stay inside the scope, the reference data every
    device holds, and the entities that draw the others' scope."""
    entities = adapters()
    return (
        frozenset(e.name for e in entities if e.content),
        frozenset(e.name for e in entities if e.shared),
        frozenset(e.name for e in entities if e.frames),
    )


async def _changes_since(session: AsyncSession, since: int, until: int) -> list[Any] | None:
    """The change notes numbered in (``since``, ``until``], or ``None`` when there are too many to sift."""
    rows = (
        await session.execute(
            select(
                ChangeLog.entity,
                ChangeLog.entity_id,
                ChangeLog.household_id,
                ChangeLog.visit_id,
                ChangeLog.case_id,
                ChangeLog.seq,
            )
            .where(ChangeLog.seq > since, ChangeLog.seq <= until)
            .order_by(ChangeLog.seq)
            .limit(SIFT_LIMIT + 1)
        )
    ).all()
    return None if len(rows) > SIFT_LIMIT else list(rows)


def _related_keys(household_id: uuid.UUID | None, visit_id: uuid.UUID | None, case_id: uuid.UUID | None) -> set[Key]:
    """The records a change note names as its relations, as holding keys."""
    named = (("household", household_id), ("visit", visit_id), ("case", case_id))
    return {(entity, eid) for entity, eid in named if eid is not None}


async def _concern(session: AsyncSession, principal: Principal, device_id: uuid.UUID, rows: list[Any]) -> bool:
    """Whether any of these change notes (some of which may move a scope) can concern this device.
    Conservative: reference data, and a change that names no relation, concern everyone; a change concerns
    the device when it touches a record the device holds or was sent, or a household, visit or case it holds
    records of (indexed lookups of its holdings); otherwise each entity's declaration says
    (``SyncEntity.concerns``: e.g. the caller is, or was, on that visit's team)."""
    if not rows:
        return False
    content, shared, _frames = _kinds()
    keys: set[Key] = set()
    households: set[uuid.UUID] = set()
    scope_rows = []
    for row in rows:
        entity, entity_id, household_id, visit_id, case_id, _seq = row
        if entity in shared or (household_id is None and visit_id is None and case_id is None):
            return True
        keys |= {(entity, entity_id), *_related_keys(household_id, visit_id, case_id)}
        if household_id is not None:
            households.add(household_id)
        if entity not in content:
            scope_rows.append(row)
    if await _holdings(session, device_id, 0, keys, households, home_entities=None, every=True):
        return True
    for declared in adapters() if scope_rows else ():
        if declared.concerns is not None and await declared.concerns(session, principal, scope_rows):
            return True
    return False


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


class _Confirmed(NamedTuple):
    upsert: Any  # sent in a received batch: an upsert, a revoke, a delete
    revoke: Any
    deleted: Any
    lost_unheld: Any  # sent in a lost batch, never held before
    version: Any  # what is held once confirmed
    view: Any
    revoked: Any


def _confirmed(device_id: uuid.UUID, batch: int) -> _Confirmed:
    """The rules of confirming ``batch`` as SQL: ``_confirm`` writes them, a planning pull reads by them."""
    dh = DeviceHolding
    sent = and_(dh.sent_batch.is_not(None), dh.sent_batch <= batch)
    upsert = and_(sent, dh.sent_op == "upsert")
    revoke = and_(sent, dh.sent_op == "revoke")
    return _Confirmed(
        upsert=upsert,
        revoke=revoke,
        deleted=and_(sent, func.coalesce(dh.sent_op, "") == "delete"),
        lost_unheld=and_(
            dh.sent_batch.is_not(None), dh.sent_batch > batch, dh.held_version.is_(None), dh.revoked_at.is_(None)
        ),
        version=case((upsert, dh.sent_version), else_=dh.held_version),
        view=case((upsert, dh.sent_view), else_=dh.held_view),
        revoked=case((upsert, literal(False)), (revoke, literal(True)), else_=dh.revoked_at.is_not(None)),
    )


async def _holdings(
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
    indexed lookup on the (device, entity, entity_id) key or the (device, household) index, united in one
    statement. ``every``: also the rows confirming ``batch`` would delete (any trace of a send)."""
    dh = DeviceHolding
    c = _confirmed(device_id, batch)
    columns = (
        type_coerce(dh.id, String),
        dh.entity,
        type_coerce(dh.entity_id, String),
        type_coerce(dh.household_id, String),
        c.version,
        c.view,
        c.revoked,
    )
    remain = (dh.device_id == device_id, true() if every else ~or_(c.deleted, c.lost_unheld))
    if keys is None:
        query: Any = select(*columns).where(*remain)
    else:
        by_entity: dict[str, set[uuid.UUID]] = defaultdict(set)
        for entity, eid in keys:
            by_entity[entity].add(eid)
        parts = [
            select(*columns).where(*remain, dh.entity == entity, dh.entity_id.in_(sorted(ids)))
            for entity, ids in sorted(by_entity.items())
        ]
        households = sorted(set(homes))
        if households:
            at_home = dh.household_id.in_(households)
            parts.append(
                select(*columns).where(*remain, at_home, dh.entity.in_(home_entities) if home_entities else true())
            )
        if not parts:
            return {}
        query = parts[0] if len(parts) == 1 else union_all(*parts)
    holdings: dict[Key, Held] = {}
    for raw_id, entity, raw_eid, raw_household, held_version, held_view, is_revoked in await session.execute(query):
        household = None if raw_household is None else _as_uuid(raw_household)
        holdings[(entity, _as_uuid(raw_eid))] = Held(
            _as_uuid(raw_id), household, held_version, held_view, bool(is_revoked)
        )
    return holdings


def _as_uuid(raw: Any) -> uuid.UUID:
    """An id as the database returns it unconverted (SQLite: 32 hex digits; PostgreSQL: a UUID)."""
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(raw)


async def _base_sum(session: AsyncSession, device_id: uuid.UUID, st: DeviceSyncState | None, batch: int) -> int:
    """The checksum sum (:mod:`app.sync.checksum`) of what the device holds once ``batch`` is confirmed.

    The stored checksum is that of everything sent so far, as if every batch arrived: take off what the
    sends of later batches (lost, since the device presents ``batch``) added. Those are the holdings with
    an unconfirmed send after ``batch``: a read of the (device, sent batch) index, as long as what was lost.
    A device whose stored checksum is of another form is summed over its holdings, once."""
    if st is None:
        return 0
    total = checksum.decode(st.checksum)
    if total is None:
        holdings = await _holdings(session, device_id, batch)
        return sum(checksum.held(e, eid, h.held_version, h.revoked) for (e, eid), h in holdings.items())
    dh = DeviceHolding
    rows = await session.execute(
        select(
            dh.entity,
            type_coerce(dh.entity_id, String),
            dh.held_version,
            dh.revoked_at.is_not(None),
            dh.sent_op,
            dh.sent_version,
        ).where(dh.device_id == device_id, dh.sent_batch > batch)
    )
    for entity, raw, held_version, revoked, op, sent_version in rows:
        eid = _as_uuid(raw)
        sent = checksum.held(entity, eid, sent_version) if op == "upsert" else 0
        total -= sent - checksum.held(entity, eid, held_version, bool(revoked))
    return total


@dataclass
class Plan:
    """What a pull sends and records, decided in the read transaction."""

    kind: str  # walk (a first sync's snapshot) | content (changes within the scope) | diff (the scope moved)
    ctx: Context
    scope: dict[Key, Item]  # the records of the page still (or newly) in scope, with their versions
    holdings: dict[Key, Held]  # the device's holdings of the records compared
    page: list[Key]  # in the order sent
    upserts: set[Key]
    deleted: set[Key]
    has_more: bool
    base: int  # the checksum sum of what the device holds before this page
    seq: int  # the change number the device is up to once the pull is complete
    day: str
    walk: str = ""  # where a walk's next page starts


def _differs(item: Item, held: Held | None) -> bool:
    return held is None or held.held_version != item.version or held.held_view != item.view or held.revoked


async def plan_walk(
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    cursor: Cursor | None,
    st: DeviceSyncState | None,
    seq: int,
    now: datetime,
    today: date,
    limit: int,
) -> Plan:
    """A page of a first sync: the next ``limit`` records of the scope in (entity order, id) order, each
    entity read by keyset from where the cursor stands, so that a page costs its own size (the entities
    that draw the scope are read whole: they are the device's own visits, cases and households). The walk
    keeps the change number and day it started at: what changed meanwhile follows in the next pulls."""
    at = cursor.walk_at() if cursor is not None else None
    index, after = at if at is not None else (0, None)
    ctx = await context_for(session, principal, now, today)
    registry = adapters()
    frames = _kinds()[2]
    framed = {a.entity: await a.scope(session, ctx) for a in registry if a.entity in frames}
    scope: dict[Key, Item] = {}
    walked: list[Key] = []
    while index < len(registry) and len(walked) < limit:
        adapter, remaining = registry[index], limit - len(walked)
        if adapter.entity in framed:
            items, walk = framed[adapter.entity], None
        else:
            ctx.walk = Walk(adapter.entity, after, remaining)
            items = await adapter.scope(session, ctx)
            walk, ctx.walk = ctx.walk, None
        if walk is not None and walk.paged:
            chosen, done, last = sorted(items), not walk.full, walk.last
        else:  # read whole: sliced here
            ids = sorted(eid for eid in items if after is None or eid > after)
            chosen, done = ids[:remaining], len(ids) <= remaining
            last = chosen[-1] if chosen else after
        for eid in chosen:
            scope[(adapter.entity, eid)] = items[eid]
            walked.append((adapter.entity, eid))
        if done:
            index, after = index + 1, None
        else:
            after = last
    has_more = index < len(registry)
    holdings = await _holdings(session, device_id, cursor.batch, walked) if cursor is not None and walked else {}
    return Plan(
        kind="walk",
        ctx=ctx,
        scope=scope,
        holdings=holdings,
        page=walked,
        upserts={key for key in walked if _differs(scope[key], holdings.get(key))},
        deleted=set(),
        has_more=has_more,
        base=await _base_sum(session, device_id, st, cursor.batch) if cursor is not None else 0,
        seq=cursor.seq if cursor is not None else seq,
        day=cursor.day if cursor is not None else today.isoformat(),
        walk=(f"{index}-{after.hex}" if after is not None else str(index)) if has_more else "",
    )


async def plan_content(
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    cursor: Cursor,
    st: DeviceSyncState,
    seq: int,
    changes: list[Any],
    now: datetime,
    today: date,
    limit: int,
) -> Plan | None:
    """A pull after changes of records inside the scope only (entities declared ``content``; the device up to date
    otherwise): read the device's holdings of the changed records and of the visits, cases and households
    they belong to (indexed lookups), keep the changes those concern, and look at just those records.
    ``None`` when no change concerns the device."""
    keys: set[Key] = set()
    homes: set[uuid.UUID] = set()
    for entity, eid, household_id, visit_id, case_id, _seq in changes:
        keys |= {(entity, eid), *_related_keys(household_id, visit_id, case_id)}
        if household_id is not None:
            homes.add(household_id)
    members = await _holdings(session, device_id, cursor.batch, keys, homes)
    # the households of the visits and cases found (a note on a case names no household)
    more = {
        ("household", h.household_id)
        for (entity, _), h in members.items()
        if entity in ("visit", "case") and h.household_id is not None
    } - members.keys()
    if more:
        members.update(await _holdings(session, device_id, cursor.batch, more))

    def holds(entity: str, eid: uuid.UUID | None) -> bool:
        h = members.get((entity, eid)) if eid is not None else None
        return h is not None and h.holds

    relevant = [
        row
        for row in changes
        if (row[0], row[1]) in members or holds("visit", row[3]) or holds("case", row[4]) or holds("household", row[2])
    ]
    if not relevant:
        return None
    wanted = {(row[0], row[1]) for row in relevant}
    held = {key: h for key, h in members.items() if h.holds}
    ctx = Context(principal=principal, now=now, today=today)
    ctx.visit_ids = {eid for (entity, eid) in held if entity == "visit"}
    ctx.case_ids = {eid for (entity, eid) in held if entity == "case"}
    ctx.household_ids = {eid for (entity, eid) in held if entity == "household"}
    ctx.visit_household = {eid: h.household_id for (entity, eid), h in held.items() if entity == "visit"}
    ctx.visible_households = set(ctx.household_ids)
    ctx.only = defaultdict(set)
    for entity, eid in wanted:
        ctx.only[entity].add(eid)
    ctx.only = dict(ctx.only)
    scope: dict[Key, Item] = {}
    models: dict[str, Any] = {}
    for adapter in adapters():
        models[adapter.entity] = adapter.model
        if adapter.entity in ctx.only:
            scope.update(((adapter.entity, eid), item) for eid, item in (await adapter.scope(session, ctx)).items())
    holdings = {key: members[key] for key in wanted if key in members}
    upserts = [key for key, item in scope.items() if key in wanted and _differs(item, holdings.get(key))]
    gone = [key for key, h in holdings.items() if key not in scope and h.holds]
    order: dict[Key, int] = {}
    for row in relevant:
        order[(row[0], row[1])] = max(order.get((row[0], row[1]), 0), row[5])
    pending = sorted(upserts + gone, key=lambda k: (order.get(k, 0), k[0], str(k[1])))
    return Plan(
        kind="content",
        ctx=ctx,
        scope=scope,
        holdings=holdings,
        page=pending[:limit],
        upserts=set(upserts),
        deleted=await _tombstoned(session, gone, models),
        has_more=len(pending) > limit,
        base=await _base_sum(session, device_id, st, cursor.batch),
        seq=seq,
        day=today.isoformat(),
    )


async def plan_diff(
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    cursor: Cursor,
    st: DeviceSyncState | None,
    seq: int,
    now: datetime,
    today: date,
    limit: int,
) -> Plan:
    """A pull when the scope itself may have moved (a team, case, consent, visit window or day changed, or
    the lease is due): the whole scope against the device's holdings, sent in commit order."""
    holdings = await _holdings(session, device_id, cursor.batch)
    ctx = await context_for(session, principal, now, today)
    registry = adapters()
    scope: dict[Key, Item] = {}
    for adapter in registry:
        scope.update(((adapter.entity, eid), item) for eid, item in (await adapter.scope(session, ctx)).items())
    upserts = [key for key, item in scope.items() if _differs(item, holdings.get(key))]
    gone = [key for key, h in holdings.items() if key not in scope and h.holds]
    pending = upserts + gone
    order = await _last_seqs(session, pending)
    pending.sort(key=lambda k: (order.get(k, 0), k[0], str(k[1])))
    return Plan(
        kind="diff",
        ctx=ctx,
        scope=scope,
        holdings=holdings,
        page=pending[:limit],
        upserts=set(upserts),
        deleted=await _tombstoned(session, gone, {a.entity: a.model for a in registry}),
        has_more=len(pending) > limit,
        base=await _base_sum(session, device_id, st, cursor.batch),
        seq=seq,
        day=today.isoformat(),
    )


async def load(session: AsyncSession, plan: Plan) -> dict[Key, dict[str, Any]]:
    """The data of every upsert of the page, each entity through its own view (the one REST answers)."""
    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    for entity, eid in plan.page:
        if (entity, eid) in plan.upserts:
            by_entity[entity].append(eid)
    loaded: dict[Key, dict[str, Any]] = {}
    for adapter in adapters():
        for chunk in _chunks(by_entity.get(adapter.entity, [])):
            for eid, data in (await adapter.load(session, plan.ctx, chunk)).items():
                loaded[(adapter.entity, eid)] = data
    return loaded


async def pull(
    state: AppState, session: AsyncSession, principal: Principal, raw_cursor: str | None, limit: int
) -> dict[str, Any]:
    """Plan (read), load (read), record (one write): see :func:`plan_walk`, :func:`plan_content`,
    :func:`plan_diff`, :func:`load` and :func:`record`."""
    device_id = require_device(principal)
    now = utcnow()
    today = now.astimezone(state.settings.tz).date()
    st, seq = await _state_and_seq(session, device_id)
    cursor = Cursor.decode(state, raw_cursor) if raw_cursor else None
    changes: list[Any] | None = None
    if raw_cursor:
        if cursor is None or st is None or cursor.device_id != device_id or cursor.batch > st.batch or cursor.seq > seq:
            raise cursor_expired()
        settled = {"batch": st.batch, "has_more": st.has_more, "renew_after": st.renew_after, "now": now}
        if nothing_new(cursor, seq=seq, today=today.isoformat(), **settled):
            state.metrics.sync_pulls.labels("unchanged").inc()
            return {"cursor": raw_cursor, "has_more": False, "checksum": st.checksum, "changes": []}
        if nothing_new(cursor, seq=cursor.seq, today=today.isoformat(), **settled) and cursor.seq < seq:
            changes = await _changes_since(session, cursor.seq, seq)
    plan: Plan | None = None
    if changes is not None:
        assert cursor is not None
        assert st is not None
        if all(row[0] in _kinds()[0] for row in changes):
            plan = await plan_content(session, principal, device_id, cursor, st, seq, changes, now, today, limit)
            concerned = plan is not None
        else:
            concerned = await _concern(session, principal, device_id, changes)
        if not concerned:  # others' changes only: nothing to send, nothing to write; the cursor moves past them
            moved = Cursor(device_id, cursor.batch, seq, cursor.day).encode(state)
            state.metrics.sync_pulls.labels("sifted").inc()
            return {"cursor": moved, "has_more": False, "checksum": st.checksum, "changes": []}
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
    total = plan.base
    changes: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    sent_rows: list[dict[str, Any]] = []
    #: Every record of a household's data this pull sends, with whose it is (DESIGN §3.4): audited at once.
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
                    "hold_until": rfc3339(hold_until),
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
        sent = {
            "sent_version": version,
            "sent_view": view,
            "sent_op": op,
            "sent_batch": batch,
            "sent_at": now,
            "hold_until": hold_until,
            "household_id": household_id,
        }
        if held is not None:
            sent_rows.append({"b_id": held.id, **sent})
        else:
            new_rows.append(
                {
                    "id": uuid.uuid4(),
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "device_id": device_id,
                    "entity": entity,
                    "entity_id": eid,
                    "held_version": None,
                    "held_view": None,
                    "revoked_at": None,
                    **sent,
                }
            )
    response: dict[str, Any] = {}
    renew = not plan.has_more and (plan.kind == "walk" or renew_after is None or now >= renew_after)
    if renew:  # the lease on everything the device holds (DESIGN §4.1 hold_until)
        renew_after = now + lease / 2
        response["hold_until"] = rfc3339(hold_until)
    for declared in adapters():  # e.g. a consent running out changes the scope with no write: look again then
        expiry = await declared.rescope(session, plan.ctx, now) if declared.rescope is not None else None
        if expiry is not None and (renew_after is None or expiry < renew_after):
            renew_after = expiry
    sum_text = checksum.encode(total)

    await begin_write(session)
    await _record_state(
        session,
        device_id,
        planned_batch,
        batch=batch,
        seq=plan.seq,
        has_more=plan.has_more,
        scope_day=plan.day,
        checksum=sum_text,
        last_pull_at=now,
        renew_after=renew_after,
    )
    if cursor is not None:
        await _confirm(session, device_id, cursor.batch, now)
    else:
        await session.execute(delete(DeviceHolding).where(DeviceHolding.device_id == device_id))
    if new_rows:
        await session.execute(insert(DeviceHolding.__table__), new_rows)
    if sent_rows:
        dh = DeviceHolding.__table__
        await session.execute(
            dh.update()
            .where(dh.c.id == bindparam("b_id"))
            .values(
                sent_version=bindparam("sent_version"),
                sent_view=bindparam("sent_view"),
                sent_op=bindparam("sent_op"),
                sent_batch=bindparam("sent_batch"),
                sent_at=bindparam("sent_at"),
                hold_until=bindparam("hold_until"),
                household_id=bindparam("household_id"),
            ),
            sent_rows,
        )
    if renew:
        await session.execute(
            update(DeviceHolding)
            .where(DeviceHolding.device_id == device_id, DeviceHolding.revoked_at.is_(None))
            .values(hold_until=hold_until)
            .execution_options(synchronize_session=False)
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
        and_(dh.entity_id == eid, dh.entity == entity) if entity else dh.entity_id == eid for entity, eid in purged
    ]
    removed = 0
    for chunk in _chunks(conditions, 200):
        result = await session.execute(
            delete(dh).where(
                dh.device_id == device_id, or_(dh.revoked_at.is_not(None), dh.sent_op == "revoke"), or_(*chunk)
            )
        )
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    await audit.record(
        session, principal, "sync.ack", entity="device", entity_id=device_id, details={"purged": removed}
    )
    return removed


async def holdings_of(session: AsyncSession, device_id: uuid.UUID) -> list[DeviceHolding]:
    return list(
        (
            await session.execute(
                select(DeviceHolding)
                .where(DeviceHolding.device_id == device_id)
                .order_by(DeviceHolding.entity, DeviceHolding.entity_id)
            )
        ).scalars()
    )


async def device_of(session: AsyncSession, device_id: uuid.UUID) -> Device | None:
    return await session.get(Device, device_id)
