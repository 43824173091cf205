"""Workload and reassignment (docs/operations.md, Work and reassignment; issue 18, item 3).

Workload (``GET /v1/workload``)
    For a coordinator's jurisdiction: every worker who may take work there (active planners, partners and
    coordinators whose area overlaps it) and everyone else who holds open work there, with their open visits,
    cases, monitoring plans and tasks (:mod:`app.work.kinds`) per day from ``from`` to ``to``, plus what is due
    earlier (late), later, or has no day.

Reassignment (``POST /v1/users/{id}/reassign``)
    Moves a worker's open work within the coordinator's jurisdiction (all of it, or some ``kinds``, or what falls
    due on or after ``from``) to one or several receivers, in one transaction. The work of one household stays
    together; each household goes to the receiver who may take all of it (:meth:`WorkKind.fits`) and holds the
    least open work, counting what this reassignment already gave (ties: the order of ``to``). When some item
    fits no receiver nothing moves: 409 ``reassign-unplaced`` lists those items. Each move goes through the ORM,
    so the change journal notes it (a visit's or case's new version and team, a plan's or task's new owner):
    on their next pull the leaver's phone revokes what it no longer may hold and the receivers' phones get it.
    Every moved item emits ``work.reassigned`` (kind, id, household, from, to) and is audited. A second, retried
    request finds nothing left to move and answers an empty move.

What a leaver's phone that was offline pushes afterwards for moved visits follows the rules of each mutation
(nothing special is kept for a reassignment): a visit transition (check-in, outcome) and a checklist response
need the caller on the visit's team and are **rejected** (``sync.not-found`` / ``not-visit-team``; the visit is
the receiver's now and its state is theirs to set); a note needs only that the caller may see the visit (a
planner of the jurisdiction still does: the note is **applied**, authored by the leaver; a partner no longer
does: rejected). The phone's next pull revokes the moved visits, their households (unless other work keeps them)
and what hangs on them.

Deactivation
    :func:`open_counts` is what ``PATCH /v1/users/{id}`` asks before ``active: false``: a user who still holds
    open work anywhere is refused (409 ``open-work`` naming the counts) until it is reassigned.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import work as access
from app.auth.models import Organization, User
from app.core.db import utcnow
from app.core.errors import Conflict, FieldInvalid, NotFound, Problem
from app.core.i18n import t
from app.core.principal import Principal
from app.core.times import local_today
from app.journal import audit
from app.journal.outbox import emit
from app.work import messages as _messages  # noqa: F401 - registers the messages
from app.work.kinds import Item, Receiver, kind_names, kind_of, open_work
from app.work.repository import WorkRepository
from app.work.schemas import (
    Moved,
    Reassign,
    Reassigned,
    ReceiverShare,
    WorkCounts,
    WorkDay,
    WorkerLoad,
    Workload,
)

#: The longest span of days a workload covers.
MAX_DAYS = 62
DEFAULT_DAYS = 14
#: At most this many unplaceable items are named in a 409.
UNPLACED_SHOWN = 50
#: The singular name of each kind's entity, for audit and events.
ENTITY = {"visits": "visit", "cases": "case", "monitoring": "monitoring_plan", "tasks": "task"}


def counts(items: Iterable[Item], kinds: Sequence[str] | None = None) -> WorkCounts:
    by = Counter(i.kind for i in items)
    values = {k: by.get(k, 0) for k in (kinds or kind_names())}
    return WorkCounts(**values, total=sum(by.values()))


async def open_counts(session: AsyncSession, user_id: uuid.UUID) -> WorkCounts:
    """The open work ``user_id`` holds anywhere."""
    return counts(await open_work(session, [user_id], None, utcnow()))


async def open_counts_of_org(session: AsyncSession, organization_id: uuid.UUID) -> WorkCounts:
    """The open work the users of an organization hold anywhere."""
    ids = await WorkRepository(session).user_ids_of_org(organization_id)
    return counts(await open_work(session, ids, None, utcnow())) if ids else counts([])


def refuse_deactivation(user_id: uuid.UUID | None, held: WorkCounts) -> Problem:
    """409 ``open-work``: a user (or an organization, ``user_id`` None) whose people hold open work cannot be
    deactivated until it is reassigned."""
    named = ", ".join(f"{t('work.kind-' + k)} {v}" for k, v in held.model_dump().items() if k != "total" and v)
    path = f"/v1/users/{user_id}/reassign" if user_id else "/v1/users/{user_id}/reassign"
    return Conflict(
        "open-work",
        "work.open-work" if user_id else "work.open-work-org",
        params={"counts": named, "total": held.total, "path": path},
        extra={"open": held.model_dump(), "reassign": path},
    )


# --- who ---------------------------------------------------------------------------------------------------------


async def _users(
    session: AsyncSession, ids: Iterable[uuid.UUID] | None = None, *, staff: bool = False
) -> list[tuple[User, Organization]]:
    """Users with their organizations: ``ids``, or (``staff``) every active user of a role that takes work."""
    return await WorkRepository(session).users_with_orgs(ids, staff=staff)


# --- workload ----------------------------------------------------------------------------------------------------


def workload_span(start: date | None, end: date | None) -> tuple[date, date]:
    start = start or local_today()
    end = end or start + timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise FieldInvalid.one("query.to", "work.span-order")
    if (end - start).days + 1 > MAX_DAYS:
        raise FieldInvalid.one("query.to", "work.span-too-long", days=MAX_DAYS)
    return start, end


def _codes_of(principal: Principal, dong_code: str | None) -> list[str]:
    if dong_code is None:
        return access.coordinator_codes(principal)
    if not access.may_pick_code(principal, dong_code):
        raise FieldInvalid.one("query.dong_code", "work.outside-jurisdiction")
    return [dong_code]


async def workload(
    session: AsyncSession,
    principal: Principal,
    start: date | None = None,
    end: date | None = None,
    *,
    dong_code: str | None = None,
) -> Workload:
    start, end = workload_span(start, end)
    codes = _codes_of(principal, dong_code)
    now = utcnow()
    items = await open_work(session, None, codes, now)
    by_user: dict[uuid.UUID, list[Item]] = defaultdict(list)
    for item in items:
        by_user[item.user_id].append(item)
    staff = await _users(session, staff=True)
    people = [(u, o) for u, o in staff if u.id in by_user or access.may_work_in(u, o, codes)]
    missing = set(by_user) - {u.id for u, _ in people}
    if missing:  # holders of work that are no longer staff (a changed role): listed all the same
        people += await _users(session, missing)
    kinds = list(kind_names())
    span = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    workers = []
    for user, org in sorted(people, key=lambda p: (p[1].name, p[0].display_name, str(p[0].id))):
        mine = by_user.get(user.id, [])
        per_day: dict[date, list[Item]] = defaultdict(list)
        earlier, later, undated = [], [], []
        for item in mine:
            if item.day is None:
                undated.append(item)
            elif item.day < start:
                earlier.append(item)
            elif item.day > end:
                later.append(item)
            else:
                per_day[item.day].append(item)
        workers.append(
            WorkerLoad(
                user_id=user.id,
                display_name=user.display_name,
                role=user.role,
                organization_id=org.id,
                organization_name=org.name,
                active=user.active,
                open=counts(mine, kinds),
                earlier=counts(earlier, kinds),
                later=counts(later, kinds),
                undated=counts(undated, kinds),
                days=[WorkDay(date=day, **counts(per_day.get(day, []), kinds).model_dump()) for day in span],
            )
        )
    await audit.record(
        session,
        principal,
        "work.workload",
        entity="workload",
        details={"from": start.isoformat(), "to": end.isoformat(), "codes": codes, "workers": len(workers)},
    )
    return Workload(from_=start, to=end, kinds=kinds, workers=workers)


def workload_rows(load: Workload) -> list[dict[str, Any]]:
    """One row per worker and day (and one per worker for what is earlier, later or undated), for CSV/XLSX."""
    rows: list[dict[str, Any]] = []
    for w in load.workers:
        base = {
            "worker": w.display_name,
            "organization": w.organization_name,
            "role": w.role.value,
            "active": w.active,
            "user_id": str(w.user_id),
        }
        for label, c in (("earlier", w.earlier), ("undated", w.undated)):
            if c.total:
                rows.append({**base, "date": label, **c.model_dump()})
        for day in w.days:
            rows.append({**base, **day.model_dump()})
        if w.later.total:
            rows.append({**base, "date": "later", **w.later.model_dump()})
    return rows


# --- reassignment ------------------------------------------------------------------------------------------------


async def _leaver(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    """The user whose work moves: one who may work in the coordinator's jurisdiction or holds work there."""
    found = await _users(session, [user_id])
    if not found:
        raise NotFound()
    user, org = found[0]
    if access.reaches_worker(principal, user, org):
        return user
    if await open_work(session, [user.id], access.coordinator_codes(principal), utcnow()):
        return user
    raise NotFound()


async def _receivers(session: AsyncSession, principal: Principal, leaver: User, ids: list[uuid.UUID]) -> list[Receiver]:
    rows = {u.id: (u, o) for u, o in await _users(session, ids)}
    errors = []
    out: list[Receiver] = []
    seen: set[uuid.UUID] = set()
    for i, uid in enumerate(ids):
        found = rows.get(uid)
        if uid in seen:
            errors.append((f"body.to.{i}", "work.receiver-twice"))
        elif uid == leaver.id:
            errors.append((f"body.to.{i}", "work.receiver-is-leaver"))
        elif found is None or not access.may_work_in(found[0], found[1], access.coordinator_codes(principal)):
            errors.append((f"body.to.{i}", "work.receiver-unknown"))
        else:
            out.append(Receiver(found[0], found[1]))
        seen.add(uid)
    if errors:
        raise FieldInvalid([(f, key, {}) for f, key in errors])
    return out


def _groups(items: list[Item]) -> list[list[Item]]:
    """The items of one household together (an item without a household alone), soonest first."""
    by_home: dict[Any, list[Item]] = defaultdict(list)
    for item in items:
        by_home[item.household_id or (item.kind, item.id)].append(item)
    groups = [sorted(g, key=lambda i: (i.kind, str(i.id))) for g in by_home.values()]
    return sorted(groups, key=lambda g: (min((i.day or date.max) for i in g), g[0].kind, str(g[0].id)))


def plan_moves(
    items: list[Item], receivers: list[Receiver], load: dict[uuid.UUID, int]
) -> tuple[list[tuple[Item, Receiver]], list[Item]]:
    """Who takes what: each household's work to the least-loaded receiver who may take all of it (else item by
    item), ties broken by the order of the receivers. Returns the moves and the items nobody may take."""
    load = dict(load)
    order = {r.id: n for n, r in enumerate(receivers)}
    moves: list[tuple[Item, Receiver]] = []
    unplaced: list[Item] = []

    def pick(candidates: list[Receiver]) -> Receiver:
        return min(candidates, key=lambda r: (load.get(r.id, 0), order[r.id]))

    for group in _groups(items):
        fits_all = [r for r in receivers if all(kind_of(i.kind).fits(i, r) for i in group)]
        if fits_all:
            chosen = pick(fits_all)
            moves.extend((i, chosen) for i in group)
            load[chosen.id] = load.get(chosen.id, 0) + len(group)
            continue
        for item in group:
            fits = [r for r in receivers if kind_of(item.kind).fits(item, r)]
            if not fits:
                unplaced.append(item)
                continue
            chosen = pick(fits)
            moves.append((item, chosen))
            load[chosen.id] = load.get(chosen.id, 0) + 1
    return moves, unplaced


async def reassign(session: AsyncSession, principal: Principal, user_id: uuid.UUID, body: Reassign) -> Reassigned:
    leaver = await _leaver(session, principal, user_id)
    known = kind_names()
    if body.kinds is not None:
        unknown = [k for k in body.kinds if k not in known]
        if unknown:
            raise FieldInvalid.one("body.kinds", "work.unknown-kind", kinds=", ".join(known))
    kinds = list(dict.fromkeys(body.kinds)) if body.kinds else list(known)
    receivers = await _receivers(session, principal, leaver, body.to)
    codes = access.coordinator_codes(principal)
    now = utcnow()
    items = await open_work(session, [leaver.id], codes, now, kinds)
    if body.from_ is not None:
        items = [i for i in items if i.day is not None and i.day >= body.from_]
    current = Counter(i.user_id for i in await open_work(session, [r.id for r in receivers], codes, now))
    moves, unplaced = plan_moves(items, receivers, dict(current))
    if unplaced:
        raise Conflict(
            "reassign-unplaced",
            "work.unplaced",
            params={"count": len(unplaced)},
            extra={
                "unplaced": [
                    {"kind": i.kind, "id": str(i.id), "dong_code": i.dong_code} for i in unplaced[:UNPLACED_SHOWN]
                ],
                "unplaced_counts": counts(unplaced).model_dump(),
            },
        )
    for item, receiver in moves:
        await kind_of(item.kind).move(session, item, receiver, now)
    await session.flush()
    for item, receiver in moves:
        emit(
            session,
            "work.reassigned",
            {
                "kind": ENTITY.get(item.kind, item.kind),
                "id": str(item.id),
                "household_id": str(item.household_id) if item.household_id else None,
                "dong_code": item.dong_code,
                "from_user_id": str(leaver.id),
                "to_user_id": str(receiver.id),
            },
            household_id=item.household_id,
            district_code=item.dong_code[:5],
        )
    await audit.record_each(
        session,
        principal,
        "work.reassign",
        [(ENTITY.get(i.kind, i.kind), i.id, i.household_id) for i, _ in moves],
        details={"from_user_id": str(leaver.id)},
    )
    await audit.record(
        session,
        principal,
        "work.reassign.user",
        entity="user",
        entity_id=leaver.id,
        details={
            "to": [str(r.id) for r in receivers],
            "kinds": kinds,
            "from": body.from_.isoformat() if body.from_ else None,
            "moved": len(moves),
        },
    )
    shares = []
    for receiver in receivers:
        got = [i for i, r in moves if r.id == receiver.id]
        shares.append(
            ReceiverShare(user_id=receiver.id, display_name=receiver.user.display_name, **counts(got).model_dump())
        )
    return Reassigned(
        user_id=leaver.id,
        moved=counts([i for i, _ in moves]),
        receivers=shares,
        items=[
            Moved(kind=i.kind, id=i.id, household_id=i.household_id, dong_code=i.dong_code, day=i.day, to=r.id)
            for i, r in moves
        ],
        remaining=await open_counts(session, leaver.id),
    )
