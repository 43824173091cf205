"""Tasks: one check for one worker (docs/winter.md). Created one at a time (:func:`create_task`, e.g. a facility's
urgent follow-up) or in bulk for an alert (:func:`insert_tasks`, no ORM per row), completed over REST or from the
phone (:func:`complete_task`).

Completion is first-wins: a task already done is not changed again; the second completion answers ``conflict``
(REST 409, push ``conflict``) with the server's state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, Problem
from app.households.models import Household
from app.journal.changes import note_change
from app.visits.models import Facility
from app.winter.models import Task, TaskKind, TaskOutcome, TaskSource, TaskStatus


async def create_task(
    session: AsyncSession,
    *,
    assignee_id: uuid.UUID,
    kind: TaskKind | str,
    due_at: datetime,
    household_id: uuid.UUID | None = None,
    facility_id: uuid.UUID | None = None,
    alert_id: uuid.UUID | None = None,
    source: TaskSource | str = TaskSource.manual,
    created_by_id: uuid.UUID | None = None,
    note: str | None = None,
    task_id: uuid.UUID | None = None,
) -> Task:
    """One task for ``assignee_id`` on a household or a facility (exactly one of them), in the caller's
    transaction (flushed, not committed). The target's district and dong are copied onto the task so that
    jurisdiction filters and summaries need no join; it reaches the assignee's phone at the next pull."""
    if (household_id is None) == (facility_id is None):
        raise ValueError("a task targets exactly one of household_id, facility_id")
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if household_id is not None:
        where = select(Household.district_code, Household.dong_code).where(Household.id == household_id)
        row = (await session.execute(where)).first()
    else:
        row = (
            await session.execute(select(Facility.district_code, Facility.dong_code).where(Facility.id == facility_id))
        ).first()
    if row is None:
        raise NotFound()
    task = Task(
        id=task_id or uuid.uuid4(),
        kind=TaskKind(kind),
        source=TaskSource(source),
        household_id=household_id,
        facility_id=facility_id,
        alert_id=alert_id,
        assignee_id=assignee_id,
        district_code=row[0],
        dong_code=row[1],
        due_at=due_at,
        note=note,
        created_by_id=created_by_id,
    )
    session.add(task)
    await session.flush()
    return task


#: From how many rows PostgreSQL gets the tasks by COPY rather than INSERT.
COPY_MIN = 100


@dataclass
class ChangedTask:
    """What :func:`app.journal.changes.note_change` reads of a row written in bulk."""

    __sync_entity__ = "task"
    id: uuid.UUID
    version: int
    household_id: uuid.UUID | None


async def insert_tasks(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many tasks with one multi-row ``INSERT`` per 1,000 (no ORM object per row), each noted in the change
    log like an ORM insert so that it reaches the assignee's phone. ``rows`` carry every column but the defaults."""
    now = utcnow()
    full = [
        {
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "status": TaskStatus.open.value,
            **row,  # the columns left out (completion, escalation, facility) are NULL: fewer values to bind
        }
        for row in rows
    ]
    if session.get_bind().dialect.name == "postgresql" and len(full) >= COPY_MIN:
        await _copy(session, full)
    else:
        for start in range(0, len(full), 1000):
            await session.execute(insert(Task.__table__), full[start : start + 1000])
    for row in full:
        note_change(session, ChangedTask(row["id"], 1, row.get("household_id")))


async def _copy(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows by ``COPY … FROM STDIN`` (binary) on the session's own connection and transaction,
    several times faster than multi-row ``INSERT``s for thousands of rows."""
    columns = list(rows[0])
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    records = [tuple(_plain(row[c]) for c in columns) for row in rows]
    await raw.driver_connection.copy_records_to_table(Task.__tablename__, records=records, columns=columns)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, TaskStatus | TaskKind | TaskSource) else value


def task_conflict(task: Task) -> Problem:
    return Conflict("task-already-done", "winter.task-already-done", extra={"server": task_state(task)})


def task_state(task: Task) -> dict[str, Any]:
    """The server's state of a task, as a conflict shows it."""
    from app.core.times import rfc3339

    return {
        "status": task.status.value,
        "outcome": task.outcome.value if task.outcome else None,
        "note": task.note,
        "completed_at": rfc3339(task.completed_at),
        "completed_by_id": str(task.completed_by_id) if task.completed_by_id else None,
        "version": task.version,
    }


async def complete_task(
    session: AsyncSession,
    task: Task,
    *,
    by_id: uuid.UUID,
    outcome: TaskOutcome,
    note: str | None,
    device_at: datetime | None = None,
) -> Task:
    """Mark ``task`` done with ``outcome`` (first completion wins: a task not open raises 409 with the server's
    state). Flushed under the row's version check, so two concurrent completions cannot both apply."""
    if task.status != TaskStatus.open:
        raise task_conflict(task)
    task.status = TaskStatus.done
    task.outcome = outcome
    task.note = note
    task.completed_at = utcnow()
    task.completed_device_at = device_at
    task.completed_by_id = by_id
    await session.flush()
    return task


async def task_targets(session: AsyncSession, tasks: list[Task], *, households: bool) -> dict[uuid.UUID, Any]:
    """Per task, its target as :class:`~app.winter.schemas.TaskTarget`: facilities always (institutions, not
    personal data), households only when ``households`` (the caller is public staff)."""
    from app.winter.schemas import TaskTarget

    out: dict[uuid.UUID, Any] = {}
    hids = {t.household_id for t in tasks if t.household_id is not None} if households else set()
    fids = {t.facility_id for t in tasks if t.facility_id is not None}
    found: dict[uuid.UUID, Any] = {}
    ids = sorted(hids, key=str)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(
                Household.id, Household.head_name, Household.address, Household.address_detail, Household.contact_phone
            ).where(Household.id.in_(ids[start : start + 500]))
        )
        for hid, name, address, detail, phone in rows:
            found[hid] = TaskTarget(
                kind="household", name=name, address=address, address_detail=detail, contact_phone=phone
            )
    if fids:
        rows = await session.execute(
            select(Facility.id, Facility.name, Facility.address, Facility.contact_phone).where(Facility.id.in_(fids))
        )
        for fid, name, address, phone in rows:
            found[fid] = TaskTarget(kind="facility", name=name, address=address, contact_phone=phone)
    for t in tasks:
        key = t.household_id if t.household_id is not None else t.facility_id
        if key in found:
            out[t.id] = found[key]
    return out


def task_public(task: Task, now: datetime | None = None, target: Any = None, *, household_hidden: bool = False) -> Any:
    """A task as REST and sync show it (:class:`app.winter.schemas.TaskPublic`); ``household_hidden`` leaves out
    even the household's id (a partner whom no consent covers, as a visit's restricted view does)."""
    from app.winter.schemas import TaskPublic

    now = now or utcnow()
    return TaskPublic(
        id=task.id,
        version=task.version,
        kind=task.kind,
        source=task.source,
        household_id=None if household_hidden else task.household_id,
        facility_id=task.facility_id,
        alert_id=task.alert_id,
        assignee_id=task.assignee_id,
        dong_code=task.dong_code,
        due_at=task.due_at,
        status=task.status,
        outcome=task.outcome,
        note=task.note,
        overdue=task.status == TaskStatus.open and task.due_at < now,
        completed_at=task.completed_at,
        completed_by_id=task.completed_by_id,
        escalated_at=task.escalated_at,
        target=target,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def same_completion(task: Task, by_id: uuid.UUID, outcome: TaskOutcome, note: str | None) -> bool:
    """Whether ``task`` is already done exactly so (a retried completion: answered again, not a conflict)."""
    return task.status == TaskStatus.done and (task.completed_by_id, task.outcome, task.note) == (by_id, outcome, note)
