"""Background jobs of monitoring plans, run by ``python -m app.worker``.

``monitoring``: creates the follow-up visits of the monitoring plans that are due
(:func:`app.monitoring.service.schedule_due_followups`). Several workers may run it at once: a plan is
moved on in the same transaction that creates its visit, under the row's version check, so a plan taken
by two workers at the same moment creates one visit (the other round rolls back and finds nothing due).
"""

from __future__ import annotations

from app.core.db import utcnow
from app.core.jobs import Job
from app.core.state import AppState
from app.core.uow import open_session
from app.monitoring.service import schedule_due_followups

#: Seconds between rounds that found nothing due (plans are due by the day; a quarter hour is plenty).
MONITORING_INTERVAL = 900.0


async def _schedule(state: AppState) -> int:
    async with open_session(state.sessionmaker, write=True) as session:
        return await schedule_due_followups(session, utcnow())


JOBS = [Job(name="monitoring", run=_schedule, interval=MONITORING_INTERVAL)]
