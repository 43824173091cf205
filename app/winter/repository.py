"""The listings of alerts and tasks (``docs/architecture.md``, the query layer). Which rows a caller reaches is
:mod:`app.access.policy`'s (``alert_filter``, ``task_filter``); the statements here only add the filters asked."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, or_, select

from app.access.policy import alert_filter, codes_clause, task_filter
from app.core.principal import Principal
from app.core.repository import Repository
from app.winter.models import Alert, AlertKind, Task, TaskStatus


class AlertRepository(Repository[Alert]):
    model = Alert
    #: Newest first (``descending``).
    order = (Alert.created_at, Alert.id)

    def readable(
        self, principal: Principal, *, kind: AlertKind | None, active: bool | None, now: datetime
    ) -> Select[tuple[Alert]]:
        stmt = select(Alert).where(alert_filter(principal))
        if kind is not None:
            stmt = stmt.where(Alert.kind == kind)
        if active is True:
            stmt = stmt.where(Alert.starts_at <= now, Alert.ends_at > now)
        elif active is False:
            stmt = stmt.where(or_(Alert.starts_at > now, Alert.ends_at <= now))
        return stmt


class TaskRepository(Repository[Task]):
    model = Task
    #: Soonest due first.
    order = (Task.due_at, Task.id)

    def readable(
        self,
        principal: Principal,
        *,
        assignee_id: uuid.UUID | None,
        statuses: Sequence[TaskStatus] | None,
        alert_id: uuid.UUID | None,
        household_id: uuid.UUID | None,
        dong_code: str | None,
        overdue: bool | None,
        now: datetime,
    ) -> Select[tuple[Task]]:
        stmt = select(Task).where(task_filter(principal))
        if assignee_id is not None:
            stmt = stmt.where(Task.assignee_id == assignee_id)
        if statuses:
            stmt = stmt.where(Task.status.in_(statuses))
        if alert_id is not None:
            stmt = stmt.where(Task.alert_id == alert_id)
        if household_id is not None:
            stmt = stmt.where(Task.household_id == household_id)
        if dong_code is not None:
            stmt = stmt.where(codes_clause(Task.dong_code, [dong_code]))
        if overdue is True:
            stmt = stmt.where(Task.status == TaskStatus.open, Task.due_at < now)
        elif overdue is False:
            stmt = stmt.where(or_(Task.status != TaskStatus.open, Task.due_at >= now))
        return stmt
