"""Alerts (docs/winter.md): a coordinator declares a cold wave, heavy snow or heat wave for some dongs; every matching
household gets one check task for its worker, created in bulk.

Who the worker is, for each household:

1. a planner on the team of its latest open visit (scheduled or in progress; the visit's lead first), else
2. the manager of its open integrated case, when a planner, else
3. the dong's **duty planner**: of the active planners of public organizations whose jurisdiction covers the dong,
   the one with the fewest open tasks (counting the tasks this alert has handed out so far; ties by name), so an
   alert's unassigned households are spread evenly over the dong's planners; else
4. the coordinator who declared the alert (the summary counts these as ``unassigned``).

Creation is one transaction of a handful of statements whatever the size: the matching households, their visits and
cases, the planners, then the tasks in multi-row ``INSERT``s (3,000 households within 2 s: ``bench/winter_alerts.py``).
The households' urgent clock (``urgent.reach``) follows at the next round of the ``deadlines`` job.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import winter as winter_access
from app.access import work as work_access
from app.access.policy import codes_clause
from app.auth.models import Organization, User
from app.cases.models import Case
from app.core.db import utcnow
from app.core.errors import Conflict, Problem
from app.core.principal import Principal
from app.households.models import Household, HouseholdStatus
from app.journal.outbox import emit
from app.visits.models import Visit, VisitAssignee, VisitStatus
from app.winter.models import Alert, Task, TaskKind, TaskSource, TaskStatus
from app.winter.tasks import insert_tasks

CHUNK = 500


def matches(criteria: dict[str, Any], risk_level: str, tags: list[str] | None) -> bool:
    """A household matches with one of the criteria's risk levels (any, when none is named) and all its tags."""
    levels = criteria.get("risk_levels") or []
    wanted = criteria.get("tags") or []
    return (not levels or risk_level in levels) and set(wanted) <= set(tags or [])


async def _households(session: AsyncSession, alert: Alert) -> list[tuple[uuid.UUID, str, str]]:
    rows = await session.execute(
        select(Household.id, Household.district_code, Household.dong_code, Household.risk_level, Household.tags).where(
            codes_clause(Household.dong_code, alert.dong_codes),
            Household.deleted_at.is_(None),
            Household.destroyed_at.is_(None),
            Household.status != HouseholdStatus.closed,
        )
    )
    return [(hid, district, dong) for hid, district, dong, risk, tags in rows if matches(alert.criteria, risk, tags)]


async def _visit_workers(session: AsyncSession, alert: Alert, ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Per household of ``ids``, a planner of its latest open visit (the lead first): one query over the alert's
    dongs (no list of thousands of ids to bind)."""
    out: dict[uuid.UUID, tuple[datetime, bool, uuid.UUID]] = {}
    rows = await session.execute(
        select(Visit.household_id, Visit.created_at, VisitAssignee.lead, VisitAssignee.user_id)
        .join(VisitAssignee, VisitAssignee.visit_id == Visit.id)
        .join(User, User.id == VisitAssignee.user_id)
        .where(
            codes_clause(Visit.dong_code, alert.dong_codes),
            Visit.household_id.is_not(None),
            Visit.status.in_((VisitStatus.scheduled, VisitStatus.in_progress)),
            Visit.deleted_at.is_(None),
            VisitAssignee.ended_at.is_(None),
            work_access.active_planners(),
        )
    )
    for hid, created_at, lead, uid in rows:
        if hid not in ids:
            continue
        key = (created_at, bool(lead), uid)
        if hid not in out or key[:2] > out[hid][:2]:
            out[hid] = key
    return {hid: v[2] for hid, v in out.items()}


async def _case_workers(session: AsyncSession, alert: Alert, ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    out: dict[uuid.UUID, tuple[datetime, uuid.UUID]] = {}
    rows = await session.execute(
        select(Case.household_id, Case.opened_at, Case.manager_id)
        .join(User, User.id == Case.manager_id)
        .where(
            codes_clause(Case.dong_code, alert.dong_codes),
            Case.closed_at.is_(None),
            Case.deleted_at.is_(None),
            work_access.active_planners(),
        )
    )
    for hid, opened_at, uid in rows:
        if hid in ids and (hid not in out or opened_at > out[hid][0]):
            out[hid] = (opened_at, uid)
    return {hid: v[1] for hid, v in out.items()}


async def duty_planners(session: AsyncSession, dong_codes: set[str]) -> dict[str, list[tuple[str, uuid.UUID]]]:
    """Per dong, its duty planners (:func:`app.access.work.may_be_duty_planner`: eligible workers covering it who
    are planners of a public organization), as (name, id)."""
    rows = await session.execute(
        select(User, Organization)
        .join(Organization, Organization.id == User.organization_id)
        .where(work_access.duty_planner_candidates())
    )
    out: dict[str, list[tuple[str, uuid.UUID]]] = {code: [] for code in dong_codes}
    for user, org in rows:
        for dong in dong_codes:
            if work_access.may_be_duty_planner(user, org, dong):
                out[dong].append((user.display_name, user.id))
    return out


async def open_task_counts(session: AsyncSession, user_ids: list[uuid.UUID]) -> Counter[uuid.UUID]:
    counts: Counter[uuid.UUID] = Counter()
    for start in range(0, len(user_ids), CHUNK):
        rows = await session.execute(
            select(Task.assignee_id, func.count())
            .where(Task.assignee_id.in_(user_ids[start : start + CHUNK]), Task.status == TaskStatus.open)
            .group_by(Task.assignee_id)
        )
        counts.update(dict(rows.all()))
    return counts


async def create_alert(session: AsyncSession, principal: Principal, body: Any) -> tuple[Alert, bool]:
    """Declare the alert of ``body`` (``AlertCreate``) and hand out its tasks. Returns (alert, created): a retry with
    the same ``id`` by the same coordinator answers the alert created the first time."""
    if body.id is not None:
        existing = await session.get(Alert, body.id)
        if existing is not None:
            if existing.created_by_id != principal.user_id:
                raise Conflict("conflict", "winter.alert-id-taken")
            return existing, False
    outside = winter_access.codes_outside(principal, body.dong_codes)
    if outside:
        raise Problem(
            422,
            "validation",
            "winter.dong-outside-jurisdiction",
            params={"codes": ", ".join(outside)},
            extra={"errors": [{"field": "dong_codes", "code": "outside_jurisdiction", "message": ", ".join(outside)}]},
        )
    now = utcnow()
    alert = Alert(
        id=body.id or uuid.uuid4(),
        kind=body.kind,
        dong_codes=list(dict.fromkeys(body.dong_codes)),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        criteria=body.criteria.model_dump(mode="json"),
        due_hours=body.due_hours,
        title=body.title,
        organization_id=principal.organization_id,
        created_by_id=principal.user_id,
    )
    session.add(alert)
    await session.flush()
    households = await _households(session, alert)
    ids = {hid for hid, _, _ in households}
    by_visit = await _visit_workers(session, alert, ids)
    by_case = await _case_workers(session, alert, ids)
    needing = {dong for hid, _, dong in households if hid not in by_visit and hid not in by_case}
    duty = await duty_planners(session, needing)
    load = await open_task_counts(session, sorted({uid for team in duty.values() for _, uid in team}))
    names = {uid: name for team in duty.values() for name, uid in team}
    due_at = max(alert.starts_at, now) + timedelta(hours=alert.due_hours)
    rows: list[dict[str, Any]] = []
    for hid, district, dong in households:
        assignee = by_visit.get(hid) or by_case.get(hid)
        if assignee is None:
            team = duty.get(dong) or []
            if team:
                assignee = min((uid for _, uid in team), key=lambda u: (load[u], names[u], str(u)))
                load[assignee] += 1
            else:
                assignee = principal.user_id
        rows.append(
            {
                "id": uuid.uuid4(),
                "kind": TaskKind.alert_check.value,
                "source": TaskSource.alert.value,
                "household_id": hid,
                "alert_id": alert.id,
                "assignee_id": assignee,
                "district_code": district,
                "dong_code": dong,
                "due_at": due_at,
                "created_by_id": principal.user_id,
            }
        )
    await insert_tasks(session, rows)
    alert.task_count = len(rows)
    await session.flush()
    emit(
        session,
        "alert.created",
        {"alert_id": str(alert.id), "kind": alert.kind.value, "dong_codes": alert.dong_codes, "tasks": len(rows)},
        district_code=alert.dong_codes[0][:5] if alert.dong_codes else None,
    )
    return alert, True


async def summary(session: AsyncSession, alert: Alert, now: datetime | None = None) -> dict[str, Any]:
    """Live counts of the alert's tasks: total, done, open, overdue (open past due), escalated, unassigned (left
    with the coordinator), by outcome, and the same per dong (with the dong's name)."""
    now = now or utcnow()

    def tally(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = await session.execute(
        select(
            Task.dong_code,
            Task.status,
            Task.assignee_id,
            Task.outcome,
            func.count(),
            tally(Task.due_at < now),
            tally(Task.escalated_at.is_not(None)),
        )
        .where(Task.alert_id == alert.id)
        .group_by(Task.dong_code, Task.status, Task.assignee_id, Task.outcome)
    )
    blank = {"total": 0, "done": 0, "open": 0, "overdue": 0, "escalated": 0, "unassigned": 0}
    totals = dict(blank)
    outcomes: Counter[str] = Counter()
    dongs: dict[str, dict[str, int]] = {}
    for dong, status, assignee, outcome, count, late, escalated in rows:
        status = TaskStatus(status)
        for bucket in (totals, dongs.setdefault(dong, dict(blank))):
            if status == TaskStatus.cancelled:
                continue
            bucket["total"] += count
            if status == TaskStatus.done:
                bucket["done"] += count
            else:
                bucket["open"] += count
                bucket["overdue"] += int(late)
                bucket["escalated"] += int(escalated)
                bucket["unassigned"] += count if assignee == alert.created_by_id else 0
        if status == TaskStatus.done and outcome is not None:
            outcomes[outcome.value if hasattr(outcome, "value") else str(outcome)] += count
    names = await dong_names(session, set(dongs) | set(alert.dong_codes))
    by_dong = [
        {"dong_code": code, "dong_name": names.get(code, code), **dongs.get(code, dict(blank))}
        for code in sorted(set(dongs) | {c for c in alert.dong_codes if len(c) == 10})
    ]
    return {**totals, "by_outcome": dict(sorted(outcomes.items())), "by_dong": by_dong, "as_of": now}


async def dong_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    """Names of dongs (``app.areas`` when installed; the code itself otherwise)."""
    try:
        from app.areas.service import area_names
    except ImportError:  # pragma: no cover - areas not installed
        return {code: code for code in codes}
    return await area_names(session, codes)
