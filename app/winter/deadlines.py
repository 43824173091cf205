"""Legal clocks of households, visits and cases (docs/winter.md), by the rules of :mod:`app.households.clocks`.

* **Households** store their running clock (``due_at``, ``deadline_rule``): :func:`refresh_households` computes it
  from the household's signals since it was last (re)opened, its first assignment after each signal and the active
  alerts it is in, and writes it through the ORM (so the change reaches phones). The worker's ``deadlines`` job runs
  it every minute over the households whose clock may run; alerts run it for their households at once.
* **Visits** and **cases** need no stored clock: an open visit is due at the end of its window, a case on the due
  date of its next step (``next_due_on``, end of that day).
* ``deadline_fields`` (of :mod:`app.households.clocks`, ``app.visits.views``, ``app.cases.service``) is what REST
  and sync show: ``due_at`` and ``deadline_state`` (``on_track``, ``at_risk``,
  ``overdue``), both null once the clock stopped (the household contacted, or assessed for ``urgent.decide``).
* :func:`announce` emits ``deadline.at_risk`` and ``deadline.overdue`` once each per record and due time: a
  ``deadline_notice`` row is inserted with ``ON CONFLICT DO NOTHING`` and the event emitted only for the rows that
  went in, in the same transaction, so concurrent workers cannot both announce.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case
from app.core.db import utcnow
from app.households.clocks import SOURCE_RULES, DeadlineState, due_after, end_of_day, local_date, rules, state_of
from app.households.models import Household, HouseholdStatus, Signal
from app.journal.outbox import emit
from app.visits.models import Visit, VisitStatus
from app.winter.models import Alert, DeadlineNotice, Task, TaskStatus

#: Household statuses whose intake clock may run.
CLOCK_STATUSES = (HouseholdStatus.identified, HouseholdStatus.contacted)
OPEN_VISIT = (VisitStatus.scheduled, VisitStatus.in_progress)
BATCH = 500
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class SignalFact:
    source: str
    created_at: datetime
    details: dict[str, Any]


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def household_clock(
    status: str,
    signals: Sequence[SignalFact],
    assignments: Sequence[datetime],
    alert_starts: Sequence[datetime],
) -> tuple[datetime | None, str | None]:
    """The household's running clock: the soonest due time among the rules its intake started, and that rule.

    ``signals``: those since it was last (re)opened; ``assignments``: when its visits were created;
    ``alert_starts``: when the active alerts it is in (with an open task) started or it was added to them."""
    table = rules()
    if status not in CLOCK_STATUSES:
        return None, None
    candidates: list[tuple[datetime, str]] = []
    urgent_starts = [s.created_at for s in signals if s.details.get("urgent") is True] + list(alert_starts)
    for start in urgent_starts:
        key = "urgent.reach" if status == HouseholdStatus.identified else "urgent.decide"
        candidates.append((due_after(table[key], start), key))
    if status == HouseholdStatus.identified:
        for signal in signals:
            key = SOURCE_RULES.get(signal.source, "intake.default")
            if key == "bigdata.round":
                round_end = _parse(signal.details.get("round_ends_at"))
                candidates.append((round_end or due_after(table[key], signal.created_at), key))
            elif key == "crisis_report.first_counselling":
                assigned = [a for a in assignments if a >= signal.created_at]
                candidates.append((due_after(table[key], min(assigned, default=signal.created_at)), key))
            else:
                candidates.append((due_after(table[key], signal.created_at), key))
    if not candidates:
        return None, None
    due, key = min(candidates)
    return due, key


# --- computing households' clocks --------------------------------------------------------------------------------


async def _facts(
    session: AsyncSession, households: Sequence[Household], now: datetime
) -> tuple[dict[uuid.UUID, list[SignalFact]], dict[uuid.UUID, list[datetime]], dict[uuid.UUID, list[datetime]]]:
    ids = [h.id for h in households]
    since = {h.id: h.recurrence_at for h in households}
    signals: dict[uuid.UUID, list[SignalFact]] = {}
    for hid, source, created_at, details in await session.execute(
        select(Signal.household_id, Signal.source, Signal.created_at, Signal.details).where(
            Signal.household_id.in_(ids)
        )
    ):
        reopened = since.get(hid)
        if reopened is not None and created_at < reopened:
            continue
        value = source.value if hasattr(source, "value") else str(source)
        signals.setdefault(hid, []).append(SignalFact(value, created_at, dict(details or {})))
    assignments: dict[uuid.UUID, list[datetime]] = {}
    for hid, created_at in await session.execute(
        select(Visit.household_id, Visit.created_at).where(
            Visit.household_id.in_(ids), Visit.deleted_at.is_(None), Visit.status != VisitStatus.cancelled
        )
    ):
        assignments.setdefault(hid, []).append(created_at)
    alerts: dict[uuid.UUID, list[datetime]] = {}
    for hid, starts_at, created_at in await session.execute(
        select(Task.household_id, Alert.starts_at, Task.created_at)
        .join(Alert, Alert.id == Task.alert_id)
        .where(Task.household_id.in_(ids), Task.status == TaskStatus.open, Alert.ends_at > now)
    ):
        alerts.setdefault(hid, []).append(max(starts_at, created_at))
    return signals, assignments, alerts


async def refresh_households(session: AsyncSession, household_ids: Iterable[uuid.UUID] | None = None) -> int:
    """Recompute the clocks of the given households (or of every household whose clock may run or ran), writing
    those that changed through the ORM. Returns how many changed."""
    now = utcnow()
    stmt = select(Household).where(Household.deleted_at.is_(None), Household.destroyed_at.is_(None))
    if household_ids is not None:
        wanted = list(set(household_ids))
        if not wanted:
            return 0
        batches = [wanted[i : i + BATCH] for i in range(0, len(wanted), BATCH)]
    else:
        which = or_(Household.status.in_(CLOCK_STATUSES), Household.due_at.is_not(None))
        batches = [list((await session.execute(select(Household.id).where(which))).scalars())]
        batches = [batches[0][i : i + BATCH] for i in range(0, len(batches[0]), BATCH)]
    changed = 0
    for ids in batches:
        households = list((await session.execute(stmt.where(Household.id.in_(ids)))).scalars())
        signals, assignments, alerts = await _facts(session, households, now)
        for h in households:
            due, key = household_clock(
                h.status.value, signals.get(h.id, []), assignments.get(h.id, []), alerts.get(h.id, [])
            )
            if (h.due_at, h.deadline_rule) != (due, key):
                h.due_at, h.deadline_rule = due, key
                changed += 1
        await session.flush()
    return changed


# --- announcing --------------------------------------------------------------------------------------------------


def _insert_ignore(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(DeadlineNotice.__table__)


async def _due_records(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Every record whose clock is at risk or overdue now: (entity, id, due_at, rule, household, district)."""
    table = rules()
    out: list[dict[str, Any]] = []
    horizon = now + max(r.at_risk_before for r in table.values())
    for hid, due, key, district, status in await session.execute(
        select(
            Household.id, Household.due_at, Household.deadline_rule, Household.district_code, Household.status
        ).where(Household.due_at.is_not(None), Household.due_at <= horizon, Household.deleted_at.is_(None))
    ):
        rule = table.get(key or "")
        if rule is not None and status.value in rule.stops_at:
            continue
        out.append(
            {"entity": "household", "id": hid, "due_at": due, "rule": key, "household_id": hid, "district": district}
        )
    visit_before = table["visit.window"].at_risk_before
    for vid, due, hid, dong in await session.execute(
        select(Visit.id, Visit.window_end, Visit.household_id, Visit.dong_code).where(
            Visit.status.in_(OPEN_VISIT), Visit.deleted_at.is_(None), Visit.window_end <= now + visit_before
        )
    ):
        out.append(
            {
                "entity": "visit",
                "id": vid,
                "due_at": due,
                "rule": "visit.window",
                "household_id": hid,
                "district": dong[:5],
            }
        )
    case_before = table["case.stage"].at_risk_before
    last_day = local_date(now + case_before)
    for cid, due_on, hid, dong in await session.execute(
        select(Case.id, Case.next_due_on, Case.household_id, Case.dong_code).where(
            Case.next_due_on.is_not(None),
            Case.closed_at.is_(None),
            Case.deleted_at.is_(None),
            Case.next_due_on <= last_day,
        )
    ):
        out.append(
            {
                "entity": "case",
                "id": cid,
                "due_at": end_of_day(due_on),
                "rule": "case.stage",
                "household_id": hid,
                "district": dong[:5],
            }
        )
    return out


async def announce(session: AsyncSession, now: datetime | None = None) -> int:
    """Emit ``deadline.at_risk`` / ``deadline.overdue`` for every record that reached that state and was not yet
    announced in it for its current due time. Returns how many events were emitted."""
    now = now or utcnow()
    rows = []
    facts: dict[tuple[str, uuid.UUID, str], dict[str, Any]] = {}
    for record in await _due_records(session, now):
        state: DeadlineState | None = state_of(record["due_at"], now, record["rule"])
        if state not in ("at_risk", "overdue"):
            continue
        states = ["at_risk", "overdue"] if state == "overdue" else ["at_risk"]
        for s in states:  # an overdue record never announced at risk: both, in order
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "entity": record["entity"],
                    "entity_id": record["id"],
                    "state": s,
                    "due_at": record["due_at"],
                    "rule": record["rule"],
                }
            )
            facts[(record["entity"], record["id"], s)] = record
    emitted = 0
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        stmt = (
            _insert_ignore(session)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["entity", "entity_id", "state", "due_at"])
            .returning(
                DeadlineNotice.__table__.c.entity,
                DeadlineNotice.__table__.c.entity_id,
                DeadlineNotice.__table__.c.state,
            )
        )
        inserted = set((await session.execute(stmt)).all())
        for row in chunk:
            key = (row["entity"], row["entity_id"], row["state"])
            if key not in inserted:
                continue
            record = facts[key]
            emit(
                session,
                f"deadline.{row['state']}",
                {
                    "entity": row["entity"],
                    "id": str(row["entity_id"]),
                    "due_at": row["due_at"].isoformat(),
                    "rule": row["rule"],
                },
                household_id=record["household_id"],
                district_code=record["district"],
            )
            emitted += 1
    return emitted


# --- GET /v1/deadlines -------------------------------------------------------------------------------------------

ENTITY_ORDER = ("case", "household", "visit")  # ties of due time are ordered by entity name, then id


def parse_cursor(cursor: str | None) -> tuple[datetime, str, uuid.UUID] | None:
    """The position of a deadlines cursor (due time, entity, id), or None; one this listing did not write is a
    422 ``invalid-cursor``."""
    from app.core.pagination import decode_cursor, invalid_cursor

    if not cursor:
        return None
    raw = decode_cursor(cursor)
    try:
        after = (datetime.fromisoformat(raw[0]), str(raw[1]), uuid.UUID(raw[2]))
    except (ValueError, IndexError, TypeError) as exc:
        raise invalid_cursor() from exc
    if after[1] not in ENTITY_ORDER or after[0].tzinfo is None:
        raise invalid_cursor()
    return after


def _after(col: Any, id_col: Any, entity: str, cursor: tuple[datetime, str, uuid.UUID] | None) -> Any:
    """``(due, entity, id) > cursor`` for one entity whose due time is ``col``."""
    from sqlalchemy import and_, true

    if cursor is None:
        return true()
    c_due, c_entity, c_id = cursor
    if entity > c_entity:
        return col >= c_due
    if entity < c_entity:
        return col > c_due
    return or_(col > c_due, and_(col == c_due, id_col > c_id))


def _case_after(cursor: tuple[datetime, str, uuid.UUID] | None) -> Any:
    """The same for cases, whose due time is the end of ``next_due_on`` (the next local midnight)."""
    from sqlalchemy import and_, false, true

    if cursor is None:
        return true()
    c_due, c_entity, c_id = cursor
    day = local_date(c_due)
    later = Case.next_due_on >= day  # due at a later midnight than the cursor's time
    if c_due != end_of_day(day - _DAY):
        return later
    # the cursor's time is itself a midnight: cases of the day before are due exactly then (a tie)
    same = Case.next_due_on == day - _DAY
    tie = true() if c_entity < "case" else false() if c_entity > "case" else Case.id > c_id
    return or_(later, and_(same, tie))


def _state_clause(col: Any, now: datetime, states: set[str], before: timedelta) -> Any:
    from sqlalchemy import and_

    parts = []
    if "overdue" in states:
        parts.append(col <= now)
    if "at_risk" in states:
        parts.append(and_(col > now, col <= now + before))
    if "on_track" in states:
        parts.append(col > now + before)
    return or_(*parts)


def _case_state_clause(now: datetime, states: set[str], before: timedelta) -> Any:
    from sqlalchemy import and_

    # due(d) <= T  ⇔  d <= local_date(T) - 1 ;  due(d) > T  ⇔  d >= local_date(T)
    d = Case.next_due_on
    parts = []
    if "overdue" in states:
        parts.append(d <= local_date(now) - _DAY)
    if "at_risk" in states:
        parts.append(and_(d >= local_date(now), d <= local_date(now + before) - _DAY))
    if "on_track" in states:
        parts.append(d >= local_date(now + before))
    return or_(*parts)


async def list_deadlines(
    session: AsyncSession,
    principal: Any,
    *,
    states: set[str],
    entities: set[str],
    dong_code: str | None,
    limit: int,
    cursor: tuple[datetime, str, uuid.UUID] | None,
) -> tuple[list[dict[str, Any]], tuple[datetime, str, uuid.UUID] | None]:
    """The running clocks the caller may see (households, visits, cases of their jurisdiction by the access
    policy), soonest first, in the given states; keyset paged on (due time, entity, id)."""
    from sqlalchemy import and_

    from app.access.policy import case_filter as policy_case_filter
    from app.access.policy import codes_clause, household_filter, visit_filter

    now = utcnow()
    table = rules()
    found: list[dict[str, Any]] = []
    if "household" in entities:
        by_rule = [
            and_(
                Household.deadline_rule == rule.key,
                Household.status.not_in(rule.stops_at),
                _state_clause(Household.due_at, now, states, rule.at_risk_before),
            )
            for rule in table.values()
            if rule.stops_at
        ]
        stmt = select(Household.id, Household.due_at, Household.deadline_rule, Household.dong_code).where(
            Household.due_at.is_not(None),
            Household.destroyed_at.is_(None),
            await household_filter(session, principal),
            or_(*by_rule),
            _after(Household.due_at, Household.id, "household", cursor),
        )
        if dong_code:
            stmt = stmt.where(codes_clause(Household.dong_code, [dong_code]))
        rows = await session.execute(stmt.order_by(Household.due_at, Household.id).limit(limit + 1))
        found += [
            {"entity": "household", "id": i, "household_id": i, "dong_code": dong, "due_at": due, "rule": key}
            for i, due, key, dong in rows
        ]
    if "visit" in entities:
        stmt = select(Visit.id, Visit.window_end, Visit.household_id, Visit.dong_code).where(
            Visit.status.in_(OPEN_VISIT),
            Visit.deleted_at.is_(None),
            visit_filter(principal),
            _state_clause(Visit.window_end, now, states, table["visit.window"].at_risk_before),
            _after(Visit.window_end, Visit.id, "visit", cursor),
        )
        if dong_code:
            stmt = stmt.where(codes_clause(Visit.dong_code, [dong_code]))
        rows = await session.execute(stmt.order_by(Visit.window_end, Visit.id).limit(limit + 1))
        found += [
            {"entity": "visit", "id": i, "household_id": h, "dong_code": dong, "due_at": due, "rule": "visit.window"}
            for i, due, h, dong in rows
        ]
    if "case" in entities:
        stmt = select(Case.id, Case.next_due_on, Case.household_id, Case.dong_code).where(
            Case.next_due_on.is_not(None),
            Case.closed_at.is_(None),
            Case.deleted_at.is_(None),
            policy_case_filter(principal),
            _case_state_clause(now, states, table["case.stage"].at_risk_before),
            _case_after(cursor),
        )
        if dong_code:
            stmt = stmt.where(codes_clause(Case.dong_code, [dong_code]))
        rows = await session.execute(stmt.order_by(Case.next_due_on, Case.id).limit(limit + 1))
        found += [
            {
                "entity": "case",
                "id": i,
                "household_id": h,
                "dong_code": dong,
                "due_at": end_of_day(d),
                "rule": "case.stage",
            }
            for i, d, h, dong in rows
        ]
    found.sort(key=lambda r: (r["due_at"], r["entity"], r["id"]))
    page = found[:limit]
    for item in page:
        item["deadline_state"] = state_of(item["due_at"], now, item["rule"])
    next_cursor = None
    if len(found) > limit:
        last = page[-1]
        next_cursor = (last["due_at"], last["entity"], last["id"])
    return page, next_cursor
