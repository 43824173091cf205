"""Pull, push and ack (DESIGN §4).

**Pull** is a diff between what the device may hold now (:mod:`app.sync.scope`) and what the server
knows it holds (``device_holding``). The cursor names the last batch the device received; presenting
it confirms that batch, while anything sent in a later batch (whose response was lost) is forgotten
and sent again. Because every pull that follows a change recomputes the diff, no committed change can
be skipped, however sequence numbers interleave; the change counter (numbered in commit order, see
``app.core.changes``) only serves to answer "nothing new" without computing anything.

**Push** applies each mutation in its own savepoint, once per (device, mutation id); the first result
is stored and returned again, as ``duplicate``, for a retry.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    type_coerce,
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
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.models import ChangeCounter, ChangeLog, DeviceHolding, DeviceSyncState
from app.sync.scope import Context, Item, Key, adapters, context_for

SYNC_ROLES = (Role.planner, Role.partner, Role.coordinator)


def cursor_expired() -> Problem:
    return Problem(410, "cursor-expired", "detail.cursor-expired")


@dataclass(frozen=True)
class Cursor:
    device_id: uuid.UUID
    batch: int
    seq: int
    day: str

    def encode(self, state: AppState) -> str:
        body = f"1.{self.device_id.hex}.{self.batch}.{self.seq}.{self.day}"
        mac = state.security.mac(body.encode(), context="sync-cursor")
        return base64.urlsafe_b64encode(f"{body}.{mac}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, state: AppState, raw: str) -> Cursor | None:
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            version, device, batch, seq, day, mac = text.split(".")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        body = f"{version}.{device}.{batch}.{seq}.{day}"
        if version != "1" or state.security.mac(body.encode(), context="sync-cursor") != mac:
            return None
        try:
            return cls(uuid.UUID(hex=device), int(batch), int(seq), day)
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
    await session.execute(delete(dh).where(dh.device_id == device_id, or_(c.deleted, c.lost_unheld)))
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


#: Entities every phone holds (reference data): a change of one concerns every device.
SHARED_ENTITIES = frozenset({"checklist_template", "resource"})
#: More changes than this since the cursor: diff rather than sift them.
SIFT_LIMIT = 500


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
            .limit(SIFT_LIMIT + 1)
        )
    ).all()
    return None if len(rows) > SIFT_LIMIT else list(rows)


#: Entities whose records live inside the scope the visits and cases draw, without moving it: when only
#: these changed since the cursor, a pull re-reads just those records within what the device holds.
#: Anything else (visits, cases, teams, consents, reference data) takes a whole diff.
CONTENT_ENTITIES = frozenset({"household", "note", "checklist_response", "photo", "support"})


async def _concern(session: AsyncSession, principal: Principal, device_id: uuid.UUID, rows: list[Any]) -> bool:
    """Whether any of these change notes can concern this device. Conservative: a change concerns it when
    it touches a record the device holds or was sent, or a household, visit or case it holds records of;
    a change of a visit, case, team or consent also when the caller is (or was) on that team or manages
    that case, or it is about a household of theirs; reference data and a change that names no relation
    concern everyone. A content change outside what the device holds cannot enter its scope (the scope is
    drawn by visits, cases, teams and consents, and by time, which the cursor's day and the lease catch)."""
    from app.care.models import Case, CaseMember
    from app.visits.models import Visit, VisitAssignee

    if not rows:
        return False
    related: set[uuid.UUID] = set()
    households: set[uuid.UUID] = set()
    scope_rows = []
    for entity, entity_id, household_id, visit_id, case_id, _seq in rows:
        if entity in SHARED_ENTITIES or (household_id is None and visit_id is None and case_id is None):
            return True
        related |= {x for x in (entity_id, household_id, visit_id, case_id) if x is not None}
        if household_id is not None:
            households.add(household_id)
        if entity not in CONTENT_ENTITIES:
            scope_rows.append((entity_id, household_id, visit_id, case_id))
    dh = DeviceHolding
    probes = [
        select(dh.id).where(
            dh.device_id == device_id, or_(dh.entity_id.in_(list(related)), dh.household_id.in_(list(households)))
        )
    ]
    if scope_rows:
        me = principal.user_id
        ids = [r[0] for r in scope_rows]
        visits = [r[2] for r in scope_rows if r[2] is not None]
        cases = [r[3] for r in scope_rows if r[3] is not None]
        homes = [r[1] for r in scope_rows if r[1] is not None]
        probes += [
            select(VisitAssignee.id).where(
                VisitAssignee.user_id == me, or_(VisitAssignee.id.in_(ids), VisitAssignee.visit_id.in_(visits))
            ),
            select(CaseMember.id).where(
                CaseMember.user_id == me, or_(CaseMember.id.in_(ids), CaseMember.case_id.in_(cases))
            ),
            select(Case.id).where(Case.manager_id == me, or_(Case.id.in_(cases), Case.household_id.in_(homes))),
            select(Visit.id)
            .join(VisitAssignee, VisitAssignee.visit_id == Visit.id)
            .where(VisitAssignee.user_id == me, Visit.household_id.in_(homes)),
            select(Case.id)
            .join(CaseMember, CaseMember.case_id == Case.id)
            .where(CaseMember.user_id == me, Case.household_id.in_(homes)),
        ]
    for probe in probes:
        if (await session.execute(probe.limit(1))).first() is not None:
            return True
    return False


def _partial_keys(
    cursor: Cursor, st: DeviceSyncState, now: datetime, today: date, changes: list[Any] | None
) -> set[Key] | None:
    """The records to re-read when the device is up to date but for content changes (then its scope is
    what it holds: no visit, case, team or consent changed, and the day and lease still hold); ``None``
    for a whole diff."""
    if changes is None or not (
        cursor.batch == st.batch
        and not st.has_more
        and cursor.day == today.isoformat() == st.scope_day
        and st.renew_after is not None
        and now < st.renew_after
    ):
        return None
    if any(row[0] not in CONTENT_ENTITIES for row in changes):
        return None
    return {(row[0], row[1]) for row in changes}


@dataclass(slots=True)
class Held:
    """A device's holding of one record, as the diff reads it."""

    id: uuid.UUID
    household_id: uuid.UUID | None
    held_version: int | None
    held_view: str | None
    revoked: bool


#: Holdings a partial pull reads whole whatever changed: they draw the scope context (:func:`_held_context`).
CONTEXT_ENTITIES = ("visit", "case", "household")


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


def _checksum_line(dialect: str, version: Any) -> Any:
    """``entity:id:version`` in SQL, the id in its usual text form (SQLite stores 32 hex digits)."""
    eid = type_coerce(DeviceHolding.entity_id, String)
    if dialect == "sqlite":
        eid = (
            func.substr(eid, 1, 8, type_=String)
            + "-"
            + func.substr(eid, 9, 4, type_=String)
            + "-"
            + func.substr(eid, 13, 4, type_=String)
            + "-"
            + func.substr(eid, 17, 4, type_=String)
            + "-"
            + func.substr(eid, 21, 12, type_=String)
        )
    else:
        eid = cast(DeviceHolding.entity_id, String)
    return DeviceHolding.entity + ":" + eid + ":" + cast(version, String)


async def _holdings(
    session: AsyncSession, device_id: uuid.UUID, batch: int, keys: set[Key] | None = None
) -> tuple[dict[Key, Held], list[str]]:
    """What the device holds once ``batch`` is confirmed: the holdings (all of them, or with ``keys`` only
    those and the ones that draw the scope context), and the checksum line of every record it holds, sorted.

    The lines come from the database as one text, so a partial pull of a phone holding thousands of
    records builds objects only for the few it looks at."""
    dh = DeviceHolding
    c = _confirmed(device_id, batch)
    remain = (dh.device_id == device_id, ~or_(c.deleted, c.lost_unheld))
    dialect = session.get_bind().dialect.name
    line = _checksum_line(dialect, c.version)
    joined = func.group_concat(line, "\n") if dialect == "sqlite" else func.string_agg(line, "\n")
    text = (await session.execute(select(joined).where(*remain, c.version.is_not(None), ~c.revoked))).scalar()
    lines = sorted(text.split("\n")) if text else []
    rows = select(
        type_coerce(dh.id, String),
        dh.entity,
        type_coerce(dh.entity_id, String),
        type_coerce(dh.household_id, String),
        c.version,
        c.view,
        c.revoked,
    ).where(*remain)
    if keys is not None:
        rows = rows.where(or_(dh.entity.in_(CONTEXT_ENTITIES), dh.entity_id.in_([eid for _, eid in keys])))
    holdings: dict[Key, Held] = {}
    for raw_id, entity, raw_eid, raw_household, held_version, held_view, is_revoked in await session.execute(rows):
        key = (entity, _as_uuid(raw_eid))
        if keys is None or entity in CONTEXT_ENTITIES or key in keys:
            household = None if raw_household is None else _as_uuid(raw_household)
            holdings[key] = Held(_as_uuid(raw_id), household, held_version, held_view, bool(is_revoked))
    return holdings, lines


def _as_uuid(raw: Any) -> uuid.UUID:
    """An id as the database returns it unconverted (SQLite: 32 hex digits; PostgreSQL: a UUID)."""
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(raw)


def checksum_of(lines: list[str]) -> str:
    """sha256 over ``entity:id:version\\n`` of every record held, sorted by entity then id (docs/sync.md),
    from the sorted lines (without their newlines)."""
    return hashlib.sha256("".join(f"{line}\n" for line in lines).encode()).hexdigest()


def _set_line(lines: list[str], entity: str, eid: uuid.UUID, version: int | None) -> None:
    """Replace (or with ``None`` remove) the checksum line of one record in the sorted ``lines``."""
    prefix = f"{entity}:{eid}:"
    i = bisect.bisect_left(lines, prefix)
    if i < len(lines) and lines[i].startswith(prefix):
        del lines[i]
    if version is not None:
        bisect.insort(lines, f"{prefix}{version}")


def _held_context(principal: Principal, now: datetime, today: date, holdings: dict[Key, Any]) -> Context:
    """The scope context as the device holds it: its visits, cases and (visible) households."""
    ctx = Context(principal=principal, now=now, today=today)
    held = {key: h for key, h in holdings.items() if h.held_version is not None and not h.revoked}
    ctx.visit_ids = {eid for (entity, eid) in held if entity == "visit"}
    ctx.case_ids = {eid for (entity, eid) in held if entity == "case"}
    ctx.household_ids = {eid for (entity, eid) in held if entity == "household"}
    ctx.visit_household = {eid: h.household_id for (entity, eid), h in held.items() if entity == "visit"}
    ctx.visible_households = set(ctx.household_ids)
    return ctx


async def pull(
    state: AppState, session: AsyncSession, principal: Principal, raw_cursor: str | None, limit: int
) -> dict[str, Any]:
    device_id = require_device(principal)
    now = utcnow()
    today = now.astimezone(state.settings.tz).date()
    lease = timedelta(hours=state.settings.sync_lease_hours)

    cursor = Cursor.decode(state, raw_cursor) if raw_cursor else None
    changes_since: list[Any] | None = None
    if raw_cursor:
        st_row, seq = await _state_and_seq(session, device_id)
        if (
            cursor is None
            or st_row is None
            or cursor.device_id != device_id
            or cursor.batch > st_row.batch
            or cursor.seq > seq
        ):
            raise cursor_expired()
        if nothing_new(
            cursor,
            batch=st_row.batch,
            has_more=st_row.has_more,
            seq=seq,
            renew_after=st_row.renew_after,
            now=now,
            today=today.isoformat(),
        ):
            state.metrics.sync_pulls.labels("unchanged").inc()
            return {"cursor": raw_cursor, "has_more": False, "checksum": st_row.checksum, "changes": []}
        if (
            nothing_new(
                cursor,
                batch=st_row.batch,
                has_more=st_row.has_more,
                seq=cursor.seq,
                renew_after=st_row.renew_after,
                now=now,
                today=today.isoformat(),
            )
            and cursor.seq < seq
            and (changes_since := await _changes_since(session, cursor.seq, seq)) is not None
            and not await _concern(session, principal, device_id, changes_since)
        ):
            # Others' changes only: nothing to diff, nothing to write; the cursor moves past them.
            moved = Cursor(device_id, cursor.batch, seq, cursor.day).encode(state)
            state.metrics.sync_pulls.labels("sifted").inc()
            return {"cursor": moved, "has_more": False, "checksum": st_row.checksum, "changes": []}

    # The answer is planned in the read transaction; the write lock (one writer at a time on SQLite) is
    # taken only to record it, and the plan stands if no other pull of this device came in between.
    if not raw_cursor:
        st_row, seq = await _state_and_seq(session, device_id)
    planned_batch = st_row.batch if st_row is not None else 0
    renew_after = st_row.renew_after if st_row is not None else None
    keys = _partial_keys(cursor, st_row, now, today, changes_since) if cursor and st_row else None
    if cursor is not None:
        # What the device holds once the batch it presents is confirmed (as _confirm will record it).
        holdings, lines = await _holdings(session, device_id, cursor.batch, keys)
    else:  # a full sync: the device starts from nothing
        holdings, lines = {}, []
    only = {entity for entity, _ in keys} if keys is not None else None
    if only is None:  # the whole scope, adapter by adapter
        ctx = await context_for(session, principal, now, today)
        registry = adapters()
        compared = holdings
    else:  # content changed within the scope the device holds: look at those records only
        assert keys is not None
        ctx = _held_context(principal, now, today, holdings)
        ctx.only = {entity: {eid for e, eid in keys if e == entity} for entity in only}
        registry = [a for a in adapters() if a.entity in only]
        compared = {key: h for key, h in holdings.items() if key in keys}
    models = {a.entity: a.model for a in adapters()}
    scope: dict[Key, Item] = {}
    for adapter in registry:
        for eid, item in (await adapter.scope(session, ctx)).items():
            scope[(adapter.entity, eid)] = item

    upserts = [
        key
        for key, item in scope.items()
        if (h := compared.get(key)) is None or h.held_version != item.version or h.held_view != item.view or h.revoked
    ]
    gone = [key for key, h in compared.items() if key not in scope and h.held_version is not None and not h.revoked]
    deleted = await _tombstoned(session, gone, models)
    pending = upserts + gone
    # commit order: a partial pull knows it from the change notes it sifted; the rest is looked up
    order: dict[Key, int] = {}
    for row in changes_since if keys is not None and changes_since else ():
        order[(row[0], row[1])] = max(order.get((row[0], row[1]), 0), row[5])
    order.update(await _last_seqs(session, [k for k in pending if k not in order]))
    pending.sort(key=lambda k: (order.get(k, 0), k[0], str(k[1])))
    page, has_more = pending[:limit], len(pending) > limit

    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    upsert_set = set(upserts)
    for entity, eid in page:
        if (entity, eid) in upsert_set:
            by_entity[entity].append(eid)
    loaded: dict[Key, dict[str, Any]] = {}
    for adapter in registry:
        ids = by_entity.get(adapter.entity)
        if ids:
            for chunk in _chunks(ids):
                for eid, data in (await adapter.load(session, ctx, chunk)).items():
                    loaded[(adapter.entity, eid)] = data

    expiry = await _next_consent_expiry(session, ctx, now)
    batch = planned_batch + 1
    hold_until = now + lease
    changes: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    sent_rows: list[dict[str, Any]] = []
    #: Every record of a household's data this pull sends, with whose it is (DESIGN §3.4): audited at once.
    sent_personal: list[tuple[str, uuid.UUID, uuid.UUID | None]] = []
    for key in page:
        entity, eid = key
        if key in upsert_set:
            data = loaded.get(key)
            if data is None:  # vanished between scope and load: the next pull settles it
                continue
            version = scope[key].version
            changes.append(
                {
                    "entity": entity,
                    "id": str(eid),
                    "op": "upsert",
                    "version": version,
                    "data": data,
                    "hold_until": rfc3339(hold_until),
                }
            )
            _set_line(lines, entity, eid, version)
            op = "upsert"
            if scope[key].household_id is not None:
                sent_personal.append((entity, eid, scope[key].household_id))
        elif key in deleted:
            held = holdings[key]
            version = (held.held_version or 0) + 1
            changes.append({"entity": entity, "id": str(eid), "op": "delete", "version": version})
            _set_line(lines, entity, eid, None)
            op = "delete"
        else:
            changes.append({"entity": entity, "id": str(eid), "op": "revoke"})
            _set_line(lines, entity, eid, None)
            op, version = "revoke", None
        household_id = scope[key].household_id if key in scope else holdings[key].household_id
        view = scope[key].view if key in scope and op == "upsert" else None
        if key in holdings:
            sent_rows.append(
                {
                    "b_id": holdings[key].id,
                    "sent_version": version,
                    "sent_view": view,
                    "sent_op": op,
                    "sent_batch": batch,
                    "sent_at": now,
                    "hold_until": hold_until,
                    "household_id": household_id,
                }
            )
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
                    "household_id": household_id,
                    "held_version": None,
                    "held_view": None,
                    "sent_version": version,
                    "sent_view": view,
                    "sent_op": op,
                    "sent_batch": batch,
                    "sent_at": now,
                    "hold_until": hold_until,
                    "revoked_at": None,
                }
            )
    response: dict[str, Any] = {}
    renew = not has_more and (renew_after is None or now >= renew_after or not raw_cursor)
    if renew:  # the lease on everything the device holds (DESIGN §4.1 hold_until)
        renew_after = now + lease / 2
        response["hold_until"] = rfc3339(hold_until)
    if expiry is not None and (renew_after is None or expiry < renew_after):
        renew_after = expiry  # a consent running out changes the scope with no write: look again then
    checksum = checksum_of(lines)

    await begin_write(session)
    await _record_state(
        session,
        device_id,
        planned_batch,
        batch=batch,
        seq=seq,
        has_more=has_more,
        scope_day=today.isoformat(),
        checksum=checksum,
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
    cursor = Cursor(device_id, batch, seq, today.isoformat()).encode(state)
    state.metrics.sync_pulls.labels("diff" if only is None else "partial").inc()
    return {"cursor": cursor, "has_more": has_more, "checksum": checksum, "changes": changes, **response}


async def _next_consent_expiry(session: AsyncSession, ctx: Any, now: datetime) -> datetime | None:
    if ctx.reach is None or not ctx.reach.assigned:
        return None
    from app.households.models import Consent

    result = await session.execute(
        select(func.min(Consent.valid_until)).where(
            Consent.household_id.in_(list(ctx.reach.assigned)),
            Consent.withdrawn_at.is_(None),
            Consent.valid_until > now,
        )
    )
    value: datetime | None = result.scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


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
