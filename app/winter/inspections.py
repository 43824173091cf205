"""What a completed facility inspection does (docs/data-model.md, docs/winter.md).

:func:`record_inspection` is called by ``app.checklists.responses`` whenever a checklist response of a facility
visit is saved complete: it keeps the facility's last inspection current (a version bump, so phones get it)
and, when the response's band is ``urgent``, creates the follow-up task (:func:`app.winter.tasks.create_task`,
for the visit's lead, due in :data:`FOLLOW_UP_HOURS`) and emits ``facility.urgent`` — once per response,
however often it is saved again. It lives with the tasks it creates; the facilities are ``app.visits``'.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.journal.outbox import emit
from app.visits.models import Facility, Visit, VisitAssignee
from app.winter.models import Task, TaskKind, TaskSource
from app.winter.tasks import create_task

#: Hours within which an urgent finding's follow-up is due.
FOLLOW_UP_HOURS = 24
URGENT_BAND = "urgent"
#: Follow-up task ids are derived from the response, so a response gets one follow-up at most.
_TASK_NAMESPACE = uuid.UUID("6f6e6769-0000-4000-8000-666163696c74")


def follow_up_task_id(response_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_TASK_NAMESPACE, f"facility-urgent:{response_id}")


async def _lead(session: AsyncSession, visit: Visit) -> uuid.UUID | None:
    rows = await session.execute(
        select(VisitAssignee.user_id, VisitAssignee.lead)
        .where(VisitAssignee.visit_id == visit.id, VisitAssignee.ended_at.is_(None))
        .order_by(VisitAssignee.lead.desc(), VisitAssignee.created_at)
    )
    first = rows.first()
    return first[0] if first is not None else None


async def record_inspection(session: AsyncSession, principal: Any, response: Any, now: datetime) -> None:
    """A complete checklist response of a visit: for a facility visit, the facility's last inspection, and
    for an urgent band, the follow-up task and the ``facility.urgent`` event (once per response)."""
    if not response.completed or response.household_id is not None:
        return
    visit = await session.get(Visit, response.visit_id)
    if visit is None or visit.facility_id is None:
        return
    facility = await session.get(Facility, visit.facility_id)
    if facility is None:
        return
    at = response.completed_at or now
    urgent = response.band == URGENT_BAND
    if facility.last_inspected_at is None or at >= facility.last_inspected_at:
        if facility.last_inspected_at != at:
            facility.last_inspected_at = at
        if facility.last_inspection_visit_id != visit.id:
            facility.last_inspection_visit_id = visit.id
        if facility.last_inspection_urgent != urgent:
            facility.last_inspection_urgent = urgent
    if not urgent:
        await session.flush()
        return
    task_id = follow_up_task_id(response.id)
    if await session.get(Task, task_id) is not None:
        await session.flush()
        return
    assignee = await _lead(session, visit) or principal.user_id
    task = await create_task(
        session,
        assignee_id=assignee,
        kind=TaskKind.facility_follow_up,
        due_at=now + timedelta(hours=FOLLOW_UP_HOURS),
        facility_id=facility.id,
        source=TaskSource.facility_inspection,
        created_by_id=principal.user_id,
        task_id=task_id,
    )
    emit(
        session,
        "facility.urgent",
        {
            "facility_id": str(facility.id),
            "visit_id": str(visit.id),
            "checklist_response_id": str(response.id),
            "template_key": response.template_key,
            "score": response.score,
            "task_id": str(task.id),
        },
        district_code=facility.district_code,
    )
    await session.flush()
