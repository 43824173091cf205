"""Background job of the integrations domain, run by ``python -m app.worker``.

``imports``: takes over spreadsheet imports whose process died (their lease lapsed) and finishes them
(:func:`app.integrations.imports.resume_round`; the take-over is a compare-and-set, so any number of workers and
API processes may look at once). Without a worker, the API processes do the same every 15 seconds.
"""

from __future__ import annotations

from app.core.jobs import Job
from app.core.state import AppState
from app.integrations.imports import RESUME_INTERVAL, resume_round


async def _resume(state: AppState) -> int:
    return await resume_round(state, wait=True)


JOBS = [Job(name="imports", run=_resume, interval=RESUME_INTERVAL)]
