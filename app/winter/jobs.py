"""Background jobs of winter operations, run by ``python -m app.worker``.

``deadlines`` (every minute): recomputes households' clocks (:func:`app.winter.deadlines.refresh_households`) and
emits ``deadline.at_risk`` / ``deadline.overdue`` once each per record and due time
(:func:`app.winter.deadlines.announce`).

``task-escalation`` (every minute): escalates open tasks past due to the coordinator: ``escalated_at`` is set by one
guarded ``UPDATE … WHERE escalated_at IS NULL RETURNING`` (so a task is escalated once, whatever the number of
workers), each with a ``task.overdue`` event for its alert's coordinator. The task's new version reaches the phone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from app.core.db import utcnow
from app.core.jobs import Job
from app.core.state import AppState
from app.core.uow import open_session
from app.journal.changes import note_change
from app.journal.outbox import emit
from app.winter.deadlines import announce, refresh_households
from app.winter.models import Alert, Task, TaskStatus
from app.winter.tasks import ChangedTask

INTERVAL = 60.0


async def run_deadlines(state: AppState, now: datetime | None = None) -> int:
    async with open_session(state.sessionmaker, write=True) as session:
        changed = await refresh_households(session)
    async with open_session(state.sessionmaker, write=True) as session:
        emitted = await announce(session, now)
    return changed + emitted


async def escalate_overdue_tasks(state: AppState, now: datetime | None = None) -> int:
    now = now or utcnow()

    async with open_session(state.sessionmaker, write=True) as session:
        table = Task.__table__
        rows = (
            await session.execute(
                update(table)
                .where(table.c.status == TaskStatus.open.value, table.c.due_at < now, table.c.escalated_at.is_(None))
                .values(escalated_at=now, version=table.c.version + 1, updated_at=now)
                .returning(
                    table.c.id,
                    table.c.version,
                    table.c.household_id,
                    table.c.alert_id,
                    table.c.assignee_id,
                    table.c.dong_code,
                    table.c.district_code,
                    table.c.due_at,
                )
            )
        ).all()
        alert_ids = {r.alert_id for r in rows if r.alert_id is not None}
        coordinators = (
            dict((await session.execute(select(Alert.id, Alert.created_by_id).where(Alert.id.in_(alert_ids)))).all())
            if alert_ids
            else {}
        )
        for r in rows:
            note_change(session, ChangedTask(r.id, r.version, r.household_id))
            coordinator = coordinators.get(r.alert_id)
            emit(
                session,
                "task.overdue",
                {
                    "task_id": str(r.id),
                    "alert_id": str(r.alert_id) if r.alert_id else None,
                    "assignee_id": str(r.assignee_id),
                    "coordinator_id": str(coordinator) if coordinator else None,
                    "dong_code": r.dong_code,
                    "due_at": r.due_at.isoformat(),
                },
                household_id=r.household_id,
                district_code=r.district_code,
            )
        return len(rows)


async def _deadlines(state: AppState) -> int:
    await run_deadlines(state)
    return 0  # a full pass each round: sleep the interval


async def _escalate(state: AppState) -> int:
    await escalate_overdue_tasks(state)
    return 0


JOBS = [
    Job(name="deadlines", run=_deadlines, interval=INTERVAL),
    Job(name="task-escalation", run=_escalate, interval=INTERVAL),
]
