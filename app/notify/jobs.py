"""Background jobs of notifications, run by ``python -m app.worker``: ``notifications`` sends what is due."""

from __future__ import annotations

from app.core.jobs import Job
from app.core.state import AppState
from app.notify.config import notify_settings
from app.notify.service import deliver_once


async def _deliver(state: AppState) -> int:
    return await deliver_once(state)


JOBS = [Job(name="notifications", run=_deliver, interval=lambda state: notify_settings(state).poll_interval_seconds)]
