"""Background jobs of crisis reports, run by ``python -m app.worker``: ``report-progress`` tells reporters
how their reports move (:func:`app.reports.progress.track_once`)."""

from __future__ import annotations

from app.core.jobs import Job
from app.core.state import AppState
from app.reports.progress import track_once


async def _track(state: AppState) -> int:
    return await track_once(state)


JOBS = [Job(name="report-progress", run=_track, interval=2.0)]
