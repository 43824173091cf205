"""Alerts and their check tasks (DESIGN §11): REST, the assignment rule, the summary, escalation, bulk creation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.models import Role
from app.core.db import commit, utcnow
from app.winter.models import Task, TaskKind, TaskSource, TaskStatus
from app.winter.tasks import create_task
from tests.factories import Factory, make_household


async def test_create_task_targets_one_household_or_facility(factory: Factory) -> None:
    planner = await factory.user(Role.planner)
    household = await make_household(factory)
    due = utcnow() + timedelta(hours=12)
    async with factory.maker() as s:
        task = await create_task(
            s, assignee_id=planner.id, kind="alert_check", due_at=due, household_id=household.id, source="manual"
        )
        await commit(s)
    async with factory.maker() as s:
        stored = await s.get(Task, task.id)
        assert stored is not None
        assert (stored.kind, stored.source, stored.status) == (TaskKind.alert_check, TaskSource.manual, TaskStatus.open)
        assert (stored.dong_code, stored.district_code) == (household.dong_code, household.district_code)
        assert stored.due_at == due
        with pytest.raises(ValueError, match="exactly one"):
            await create_task(s, assignee_id=planner.id, kind="alert_check", due_at=due)
