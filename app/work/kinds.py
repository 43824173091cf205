"""The kinds of open work a worker holds, each able to list itself and to move one item to another worker.

A kind is a :class:`WorkKind`: ``open_items`` lists the open items of some workers (or of everyone) within a set
of administrative codes, ``fits`` says whether a receiver may take an item, ``move`` moves it (through the ORM,
so that the change journal sees it and phones converge on their next pull: the leaver's drops it, the
receiver's gets it). The kinds:

- ``visits``: scheduled or in progress; held by each active team member; dated by the window's start; taken by
  staff who may be on a visit team there (the rule of :func:`app.visits.service.validate_team`), and a joint
  consultation keeps a member of a public and one of a private organization.
- ``cases``: not closed; held by the manager and each active member; dated by the next step's due date; the
  manager's place is taken by public staff covering the dong, a member's by public staff or a private partner.
- ``monitoring``: an active plan; held by its owner; dated by the next follow-up; taken as
  :func:`app.access.monitoring.may_own_plan` says.
- ``tasks``: open; held by the assignee; dated by the due date; taken by staff who may be on a visit team there.

``tasks`` come from ``app.winter`` (its ``Task`` table) and are left out while that module is not installed.
Other domains add kinds with an ``app/<domain>/work.py`` module whose ``work_kinds()`` returns more of them.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import work as access
from app.access.policy import codes_clause
from app.auth.models import Organization, User
from app.cases.models import CASE_CLOSED_STAGES, Case, CaseMember
from app.core.principal import OrgKind
from app.core.times import local_date
from app.monitoring.models import MonitoringPlan
from app.visits.models import Visit, VisitAssignee, VisitPurpose, VisitStatus

OPEN_VISIT = (VisitStatus.scheduled, VisitStatus.in_progress)


@dataclass
class Item:
    """One piece of open work held by ``user_id``."""

    kind: str
    id: uuid.UUID
    user_id: uuid.UUID
    dong_code: str
    household_id: uuid.UUID | None
    day: date | None
    #: What ``fits`` and ``move`` need to know (the object itself, the team's organization kinds …).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receiver:
    user: User
    org: Organization

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    def covers(self, dong_code: str) -> bool:
        return access.may_take_work(self.user, self.org, dong_code)

    @property
    def public_staff(self) -> bool:
        return access.is_public_staff(self.user, self.org)

    @property
    def private_partner(self) -> bool:
        return access.is_private_partner(self.user, self.org)


OpenItems = Callable[[AsyncSession, Sequence[uuid.UUID] | None, Sequence[str] | None, datetime], Awaitable[list[Item]]]


@dataclass(frozen=True)
class WorkKind:
    name: str
    #: (session, user ids or None for everyone, codes, now) → the open items.
    open_items: OpenItems
    fits: Callable[[Item, Receiver], bool]
    #: (session, item, receiver, now): move the item from ``item.user_id`` to the receiver.
    move: Callable[[AsyncSession, Item, Receiver, datetime], Awaitable[None]]


def _users_clause(column: Any, user_ids: Sequence[uuid.UUID] | None) -> Any:
    return column.in_(list(user_ids)) if user_ids is not None else column.is_not(None)


def _codes(column: Any, codes: Sequence[str] | None) -> Any:
    """Within ``codes`` (prefixes: a district holds its dongs); everywhere when None."""
    return true() if codes is None else codes_clause(column, list(codes))


# --- visits ----------------------------------------------------------------------------------------------------


async def _open_visits(
    session: AsyncSession, user_ids: Sequence[uuid.UUID] | None, codes: Sequence[str] | None, now: datetime
) -> list[Item]:
    rows = await session.execute(
        select(VisitAssignee.user_id, Visit.id, Visit.dong_code, Visit.household_id, Visit.window_start)
        .join(Visit, Visit.id == VisitAssignee.visit_id)
        .where(
            _users_clause(VisitAssignee.user_id, user_ids),
            VisitAssignee.ended_at.is_(None),
            Visit.deleted_at.is_(None),
            Visit.status.in_(OPEN_VISIT),
            _codes(Visit.dong_code, codes),
        )
    )
    return [Item("visits", vid, uid, dong, hid, local_date(start)) for uid, vid, dong, hid, start in rows]


async def _visit_team(session: AsyncSession, visit_id: uuid.UUID) -> dict[uuid.UUID, VisitAssignee]:
    rows = await session.execute(select(VisitAssignee).where(VisitAssignee.visit_id == visit_id))
    return {row.user_id: row for row in rows.scalars()}


def _visit_fits(item: Item, to: Receiver) -> bool:
    if not to.covers(item.dong_code):
        return False
    needed = item.extra.get("needs_kind")
    return needed is None or to.org.kind == needed


async def _visit_prepare(session: AsyncSession, items: list[Item]) -> None:
    """For joint consultations: the organization kind the leaver's place needs (the team keeps both)."""
    ids = [i.id for i in items if i.kind == "visits"]
    if not ids:
        return
    joint = {
        vid
        for (vid,) in await session.execute(
            select(Visit.id).where(Visit.id.in_(ids), Visit.purpose == VisitPurpose.joint_consultation)
        )
    }
    if not joint:
        return
    kinds: dict[uuid.UUID, list[tuple[uuid.UUID, OrgKind]]] = {}
    for vid, uid, kind in await session.execute(
        select(VisitAssignee.visit_id, VisitAssignee.user_id, Organization.kind)
        .join(Organization, Organization.id == VisitAssignee.organization_id)
        .where(VisitAssignee.visit_id.in_(list(joint)), VisitAssignee.ended_at.is_(None))
    ):
        kinds.setdefault(vid, []).append((uid, OrgKind(kind)))
    for item in items:
        if item.id not in joint:
            continue
        team = kinds.get(item.id, [])
        mine = next((k for uid, k in team if uid == item.user_id), None)
        others = {k for uid, k in team if uid != item.user_id}
        if mine is not None and mine not in others:
            item.extra["needs_kind"] = mine


async def _move_visit(session: AsyncSession, item: Item, to: Receiver, now: datetime) -> None:
    team = await _visit_team(session, item.id)
    leaving = team.get(item.user_id)
    was_lead = bool(leaving and leaving.lead)
    if leaving is not None and leaving.ended_at is None:
        leaving.ended_at = now
        leaving.lead = False
    row = team.get(to.id)
    if row is None:
        session.add(VisitAssignee(visit_id=item.id, user_id=to.id, organization_id=to.org.id, lead=was_lead))
    else:
        row.ended_at = None
        row.organization_id = to.org.id
        row.lead = row.lead or was_lead
    visit = await session.get(Visit, item.id)
    assert visit is not None
    visit.updated_at = now  # the team is part of the visit: a new version, and a sync change


# --- cases -----------------------------------------------------------------------------------------------------


async def _open_cases(
    session: AsyncSession, user_ids: Sequence[uuid.UUID] | None, codes: Sequence[str] | None, now: datetime
) -> list[Item]:
    alive = (
        Case.deleted_at.is_(None),
        Case.closed_at.is_(None),
        Case.stage.not_in(list(CASE_CLOSED_STAGES)),
        _codes(Case.dong_code, codes),
    )
    out: dict[tuple[uuid.UUID, uuid.UUID], Item] = {}
    for cid, manager, dong, hid, due in await session.execute(
        select(Case.id, Case.manager_id, Case.dong_code, Case.household_id, Case.next_due_on).where(
            _users_clause(Case.manager_id, user_ids), *alive
        )
    ):
        out[(manager, cid)] = Item("cases", cid, manager, dong, hid, due, {"manager": True})
    for uid, cid, dong, hid, due in await session.execute(
        select(CaseMember.user_id, Case.id, Case.dong_code, Case.household_id, Case.next_due_on)
        .join(Case, Case.id == CaseMember.case_id)
        .where(_users_clause(CaseMember.user_id, user_ids), CaseMember.ended_at.is_(None), *alive)
    ):
        out.setdefault((uid, cid), Item("cases", cid, uid, dong, hid, due, {"manager": False}))
    return list(out.values())


def _case_fits(item: Item, to: Receiver) -> bool:
    if not to.covers(item.dong_code):
        return False
    if item.extra.get("manager"):
        return to.public_staff
    return to.public_staff or to.private_partner


async def _move_case(session: AsyncSession, item: Item, to: Receiver, now: datetime) -> None:
    case = await session.get(Case, item.id)
    assert case is not None
    members = {
        m.user_id: m for m in (await session.execute(select(CaseMember).where(CaseMember.case_id == case.id))).scalars()
    }
    leaving = members.get(item.user_id)
    if leaving is not None and leaving.ended_at is None:
        leaving.ended_at = now
    if case.manager_id == item.user_id:
        case.manager_id = to.id
    row = members.get(to.id)
    note = "manager" if case.manager_id == to.id else (leaving.role_note if leaving else None)
    if row is None:
        session.add(CaseMember(case_id=case.id, user_id=to.id, organization_id=to.org.id, role_note=note))
    else:
        if row.ended_at is not None:
            row.ended_at = None
            row.organization_id = to.org.id
        if note and (note == "manager" or row.role_note is None):
            row.role_note = note
    case.updated_at = now  # a team change is a change of the case (phones re-pull it)


# --- monitoring ------------------------------------------------------------------------------------------------


async def _open_monitoring(
    session: AsyncSession, user_ids: Sequence[uuid.UUID] | None, codes: Sequence[str] | None, now: datetime
) -> list[Item]:
    rows = await session.execute(
        select(
            MonitoringPlan.owner_id,
            MonitoringPlan.id,
            MonitoringPlan.dong_code,
            MonitoringPlan.household_id,
            MonitoringPlan.next_due_on,
        ).where(
            _users_clause(MonitoringPlan.owner_id, user_ids),
            MonitoringPlan.active.is_(True),
            MonitoringPlan.ended_at.is_(None),
            _codes(MonitoringPlan.dong_code, codes),
        )
    )
    return [Item("monitoring", pid, uid, dong, hid, due) for uid, pid, dong, hid, due in rows]


def _monitoring_fits(item: Item, to: Receiver) -> bool:
    """As :func:`app.access.monitoring.may_own_plan`."""
    return to.covers(item.dong_code) and (to.public_staff or to.private_partner)


async def _move_monitoring(session: AsyncSession, item: Item, to: Receiver, now: datetime) -> None:
    plan = await session.get(MonitoringPlan, item.id)
    assert plan is not None
    plan.owner_id = to.id


# --- tasks (app.winter, when installed) ------------------------------------------------------------------------


def _task_model() -> Any:
    try:
        from app.winter.models import Task
    except ImportError:  # the winter module is not installed in this build
        return None
    return Task


async def _open_tasks(
    session: AsyncSession, user_ids: Sequence[uuid.UUID] | None, codes: Sequence[str] | None, now: datetime
) -> list[Item]:
    task = _task_model()
    rows = await session.execute(
        select(task.assignee_id, task.id, task.dong_code, task.household_id, task.due_at).where(
            _users_clause(task.assignee_id, user_ids),
            task.status == "open",
            _codes(task.dong_code, codes),
        )
    )
    return [Item("tasks", tid, uid, dong, hid, local_date(due)) for uid, tid, dong, hid, due in rows]


def _task_fits(item: Item, to: Receiver) -> bool:
    return to.covers(item.dong_code)


async def _move_task(session: AsyncSession, item: Item, to: Receiver, now: datetime) -> None:
    task = await session.get(_task_model(), item.id)
    assert task is not None
    task.assignee_id = to.id


# --- the registry ----------------------------------------------------------------------------------------------


@functools.cache
def work_kinds() -> tuple[WorkKind, ...]:
    """The kinds of work of this build, in the order workloads and answers list them."""
    from app import registry

    kinds = [
        WorkKind("visits", _open_visits, _visit_fits, _move_visit),
        WorkKind("cases", _open_cases, _case_fits, _move_case),
        WorkKind("monitoring", _open_monitoring, _monitoring_fits, _move_monitoring),
    ]
    if _task_model() is not None:
        kinds.append(WorkKind("tasks", _open_tasks, _task_fits, _move_task))
    for module in registry.extensions("work"):
        if hasattr(module, "work_kinds"):
            kinds.extend(module.work_kinds())
    return tuple(kinds)


def kind_names() -> tuple[str, ...]:
    return tuple(k.name for k in work_kinds())


def kind_of(name: str) -> WorkKind:
    return next(k for k in work_kinds() if k.name == name)


async def open_work(
    session: AsyncSession,
    user_ids: Sequence[uuid.UUID] | None,
    codes: Sequence[str] | None,
    now: datetime,
    kinds: Sequence[str] | None = None,
) -> list[Item]:
    """Every open item of ``user_ids`` (everyone's when None) within ``codes`` (everywhere when None), of
    ``kinds`` (all when None)."""
    out: list[Item] = []
    for kind in work_kinds():
        if kinds is None or kind.name in kinds:
            out.extend(await kind.open_items(session, user_ids, codes, now))
    await _visit_prepare(session, out)
    return out
