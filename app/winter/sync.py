"""Tasks on the phone (docs/winter.md): what a device holds, and the ``task`` ``complete`` push.

Joined into sync by ``app.sync.scope`` (``sync_adapters``) and ``app.sync.push`` (``sync_handlers``).

* A device holds its user's tasks: the open ones, and those done or cancelled in the last
  :data:`DONE_KEPT` (so a phone that completed one offline sees how it ended, whoever completed it).
  ``data`` is REST's :class:`~app.winter.schemas.TaskPublic`.
* ``complete`` (data ``outcome``, ``note``) completes it with the device's time kept. The first completion wins:
  a task done already answers ``conflict`` with the server's state (and the phone's in ``device``); a retry of the
  same completion by the same user (a new mutation id after a lost answer) is ``applied`` without a change.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.winter.models import Task, TaskOutcome, TaskStatus
from app.winter.schemas import TaskComplete
from app.winter.tasks import complete_task, same_completion, task_public, task_state, task_targets

#: How long a finished task stays on its assignee's phone.
DONE_KEPT = timedelta(days=3)


async def _task_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    rows = await ctx.rows(
        session,
        "task",
        select(Task.id, Task.version, Task.household_id).where(
            Task.assignee_id == ctx.principal.user_id,
            or_(Task.status == TaskStatus.open, Task.updated_at >= ctx.now - DONE_KEPT),
        ),
        Task.id,
    )
    out = {}
    for tid, version, hid in rows:
        open_ = hid is not None and ctx.household_open(hid) and not ctx.is_partner
        # like a visit: a task names its household's people (``target``) only to a device that may see them
        # identified, and a change of that is sent again at the same version
        out[tid] = Item(version, hid if open_ else None, None if open_ or hid is None else "redacted")
    return out


async def _task_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = list((await session.execute(select(Task).where(Task.id.in_(ids)))).scalars())
    shown = [t for t in rows if t.household_id is None or (not ctx.is_partner and ctx.household_open(t.household_id))]
    targets = await task_targets(session, shown, households=True)
    return {
        t.id: task_public(
            t, ctx.now, targets.get(t.id), household_hidden=ctx.is_partner and not ctx.household_open(t.household_id)
        ).model_dump(mode="json")
        for t in rows
    }


def sync_adapters() -> list[Any]:
    from app.sync.scope import Adapter

    return [Adapter("task", _task_scope, _task_load, Task, after=("household",))]


async def _task_complete(ctx: Any) -> Any:
    from app.access.policy import may_complete_task, task_filter
    from app.journal import audit
    from app.sync.push import Outcome, only_fields, reject, validated

    only_fields(ctx.data, ("outcome", "note"))
    data = validated(TaskComplete, ctx.data)
    task = (
        await ctx.session.execute(select(Task).where(Task.id == ctx.id, task_filter(ctx.principal)).with_for_update())
    ).scalar_one_or_none()
    if task is None:
        raise reject("sync.not-found", 404)
    if not may_complete_task(ctx.principal, task):
        raise reject("winter.task-not-assignee", 403)
    outcome, note = TaskOutcome(data["outcome"]), data.get("note")
    if same_completion(task, ctx.principal.user_id, outcome, note):
        return Outcome("applied", task.version, household_id=task.household_id)
    if task.status != TaskStatus.open:
        device = {"outcome": outcome.value, "note": note}
        return Outcome("conflict", task.version, server=task_state(task), device=device, household_id=task.household_id)
    await complete_task(ctx.session, task, by_id=ctx.principal.user_id, outcome=outcome, note=note, device_at=ctx.at)
    await audit.record(
        ctx.session,
        ctx.principal,
        "task.complete",
        entity="task",
        entity_id=task.id,
        household_id=task.household_id,
        purpose="sync",
        details={"outcome": outcome.value},
    )
    return Outcome("applied", task.version, household_id=task.household_id)


def sync_handlers() -> dict[tuple[str, str], Any]:
    return {("task", "complete"): _task_complete}
