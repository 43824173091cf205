"""``/v1/alerts``, ``/v1/tasks``, ``/v1/deadlines`` (docs/winter.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.access import gates
from app.access import winter as access
from app.access.policy import get_alert_or_404, get_task_or_404, may_complete_task
from app.core.db import utcnow
from app.core.deps import SessionDep
from app.core.errors import Forbidden, Problem
from app.core.http import problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page, encode_cursor
from app.core.principal import Principal
from app.journal import audit
from app.winter import alerts, deadlines
from app.winter import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.winter.models import Alert, AlertKind, Task, TaskStatus
from app.winter.repository import AlertRepository, TaskRepository
from app.winter.schemas import AlertCreate, AlertPublic, AlertSummary, DeadlineItem, TaskComplete, TaskPublic
from app.winter.tasks import complete_task, same_completion, task_conflict, task_public, task_targets

router = APIRouter(tags=["winter"])

_TEXT = {
    403: "Your role can never do this (or you are not the task's assignee or a coordinator of its area)",
    404: "No such record, or not visible to you",
    409: "The task is already done (the first completion stands; `server` holds it), or the id is taken",
    422: "Invalid input (field errors in `errors`)",
}


def _alert_public(alert: Alert) -> AlertPublic:
    now = utcnow()
    return AlertPublic.model_validate(
        {**alert.model_dump(), "active": alert.starts_at <= now < alert.ends_at, "criteria": alert.criteria}
    )


# --- alerts ---------------------------------------------------------------------------------------------------


@router.post(
    "/v1/alerts",
    response_model=AlertPublic,
    status_code=201,
    summary="Declare a cold wave, heavy snow or heat wave: one check task per matching household",
    description="Each household of the dongs that matches the criteria (one of the risk levels, all the tags) gets "
    "a task for its worker: a planner of its latest open visit, else the manager of its open case, else the dong's "
    "duty planner (the planner of the dong with the fewest open tasks), else you. Each task is due `due_hours` after "
    "the alert starts (or now, if it started already). Send your own `id` to make a retry safe: the same id answers "
    "the alert created the first time (200).",
    responses={200: {"description": "The alert created before under this id", "model": AlertPublic}}
    | problems(403, 409, 422, texts=_TEXT),
)
async def create_alert(
    body: AlertCreate, principal: gates.Coordinator, session: SessionDep, response: Response
) -> AlertPublic:
    alert, created = await alerts.create_alert(session, principal, body)
    if not created:
        response.status_code = 200
    set_etag(response, alert.version)
    response.headers["Location"] = f"/v1/alerts/{alert.id}"
    return _alert_public(alert)


@router.get(
    "/v1/alerts",
    response_model=Page[AlertPublic],
    summary="Alerts of your organization",
    responses=problems(403, texts=_TEXT),
)
async def list_alerts(
    principal: gates.PublicStaff,
    session: SessionDep,
    kind: AlertKind | None = None,
    active: Annotated[bool | None, Query(description="Only those in force now (true) or not (false)")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AlertPublic]:
    alerts_ = AlertRepository(session)
    stmt = alerts_.readable(principal, kind=kind, active=active, now=utcnow())
    rows, next_cursor = await alerts_.page(
        stmt, order=AlertRepository.order, limit=limit, cursor=cursor, descending=True
    )
    return Page(items=[_alert_public(a) for a in rows], next_cursor=next_cursor)


@router.get(
    "/v1/alerts/{alert_id}", response_model=AlertPublic, summary="One alert", responses=problems(403, 404, texts=_TEXT)
)
async def get_alert(
    alert_id: uuid.UUID, principal: gates.PublicStaff, session: SessionDep, response: Response
) -> AlertPublic:
    alert = await get_alert_or_404(session, principal, alert_id)
    set_etag(response, alert.version)
    return _alert_public(alert)


@router.get(
    "/v1/alerts/{alert_id}/summary",
    response_model=AlertSummary,
    summary="Live progress of an alert's checks: done, open, overdue, escalated, by dong (with names)",
    responses=problems(403, 404, texts=_TEXT),
)
async def alert_summary(alert_id: uuid.UUID, principal: gates.PublicStaff, session: SessionDep) -> AlertSummary:
    alert = await get_alert_or_404(session, principal, alert_id)
    return AlertSummary.model_validate({"alert_id": alert.id, **await alerts.summary(session, alert)})


# --- tasks ----------------------------------------------------------------------------------------------------


async def _task_out(session: SessionDep, principal: Principal, task: Task) -> TaskPublic:
    targets = await task_targets(session, [task], households=access.sees_task_households(principal))
    hidden = await access.hidden_task_households(session, principal, [task])
    return task_public(task, target=targets.get(task.id), household_hidden=task.id in hidden)  # type: ignore[no-any-return]


@router.get(
    "/v1/tasks",
    response_model=Page[TaskPublic],
    summary="Tasks, soonest due first (`assignee=me` for your own)",
    responses=problems(403, 422, texts=_TEXT),
)
async def list_tasks(
    principal: gates.FieldStaff,
    session: SessionDep,
    assignee: Annotated[
        str | None,
        Query(
            description="`me` or a user id",
            max_length=36,
            json_schema_extra={"anyOf": [{"type": "string", "enum": ["me"]}, {"type": "string", "format": "uuid"}]},
        ),
    ] = None,
    status: Annotated[list[TaskStatus] | None, Query()] = None,
    alert_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    dong_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}([0-9]{5})?$")] = None,
    overdue: Annotated[bool | None, Query(description="Only open tasks past due (true)")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[TaskPublic]:
    assignee_id = None
    if assignee is not None:
        if assignee == "me":
            assignee_id = principal.user_id
        else:
            try:
                assignee_id = uuid.UUID(assignee)
            except ValueError:
                raise Problem(
                    422,
                    "validation",
                    "detail.malformed-body",
                    extra={"errors": [{"field": "query.assignee", "code": "invalid", "message": "me | uuid"}]},
                ) from None
    now = utcnow()
    tasks = TaskRepository(session)
    stmt = tasks.readable(
        principal,
        assignee_id=assignee_id,
        statuses=status,
        alert_id=alert_id,
        household_id=household_id,
        dong_code=dong_code,
        overdue=overdue,
        now=now,
    )
    rows, next_cursor = await tasks.page(stmt, order=TaskRepository.order, limit=limit, cursor=cursor)
    await audit.record_many(
        session,
        principal,
        "task.list",
        entity="task",
        items=[(t.id, t.household_id) for t in rows],
        purpose="follow_up",
    )
    targets = await task_targets(session, rows, households=access.sees_task_households(principal))
    hidden = await access.hidden_task_households(session, principal, rows)
    return Page(
        items=[task_public(t, now, targets.get(t.id), household_hidden=t.id in hidden) for t in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/v1/tasks/{task_id}", response_model=TaskPublic, summary="One task", responses=problems(403, 404, texts=_TEXT)
)
async def get_task(
    task_id: uuid.UUID, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> TaskPublic:
    task = await get_task_or_404(session, principal, task_id)
    await audit.record(
        session,
        principal,
        "task.read",
        entity="task",
        entity_id=task.id,
        household_id=task.household_id,
        purpose="follow_up",
    )
    set_etag(response, task.version)
    return await _task_out(session, principal, task)


@router.post(
    "/v1/tasks/{task_id}/complete",
    response_model=TaskPublic,
    summary="Complete a task with its outcome (the first completion wins)",
    description="A retry of the same completion by the same person answers the task again (200). A task already "
    "completed otherwise answers 409 `task-already-done` with the server's state in `server`.",
    responses=problems(403, 404, 409, 422, texts=_TEXT),
)
async def complete(
    task_id: uuid.UUID, body: TaskComplete, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> TaskPublic:
    task = await get_task_or_404(session, principal, task_id)
    if not may_complete_task(principal, task):
        raise Forbidden("winter.task-not-assignee")
    if same_completion(task, principal.user_id, body.outcome, body.note):
        set_etag(response, task.version)
        return await _task_out(session, principal, task)
    if task.status != TaskStatus.open:
        raise task_conflict(task)
    await complete_task(session, task, by_id=principal.user_id, outcome=body.outcome, note=body.note)
    await audit.record(
        session,
        principal,
        "task.complete",
        entity="task",
        entity_id=task.id,
        household_id=task.household_id,
        purpose="follow_up",
        details={"outcome": body.outcome.value},
    )
    set_etag(response, task.version)
    return await _task_out(session, principal, task)


# --- deadlines ------------------------------------------------------------------------------------------------

DeadlineStateQ = Literal["on_track", "at_risk", "overdue"]
DeadlineEntityQ = Literal["household", "visit", "case"]


@router.get(
    "/v1/deadlines",
    response_model=Page[DeadlineItem],
    summary="Legal clocks at risk in your jurisdiction, soonest first",
    description="Households (their intake's clock by source: app/households/clocks.py), open visits (their window) and "
    "open cases (their next stage's due date). By default what is `at_risk` or `overdue`; `state` and `entity` "
    "repeat.",
    responses=problems(403, 422, texts=_TEXT),
)
async def list_deadlines(
    principal: gates.PublicStaff,
    session: SessionDep,
    state: Annotated[list[DeadlineStateQ] | None, Query()] = None,
    entity: Annotated[list[DeadlineEntityQ] | None, Query()] = None,
    dong_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}([0-9]{5})?$")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[DeadlineItem]:
    after = deadlines.parse_cursor(cursor)
    items, last = await deadlines.list_deadlines(
        session,
        principal,
        states=set(state or ("at_risk", "overdue")),
        entities=set(entity or deadlines.ENTITY_ORDER),
        dong_code=dong_code,
        limit=limit,
        cursor=after,
    )
    await audit.record_each(
        session,
        principal,
        "deadline.list",
        [(i["entity"], i["id"], i["household_id"]) for i in items if i["household_id"] is not None],
        purpose="identification",
    )
    return Page(
        items=[DeadlineItem.model_validate(i) for i in items],
        next_cursor=encode_cursor(list(last)) if last else None,
    )
