"""Background job of the lifecycle domain, run by ``python -m app.worker``.

``retention-destroy``: destroys the personal data of households past their retention period
(app.lifecycle.service). Several workers may run it at once: each household is taken with a row lock and
checked again, so a household is destroyed once. ``python -m app destroy-expired`` runs one round.
"""

from __future__ import annotations

from app.core.jobs import Job
from app.core.state import AppState
from app.lifecycle.service import destroy_expired


async def _destroy(state: AppState) -> int:
    done = await destroy_expired(state, job="retention-destroy")
    # A full batch may leave more behind: run again at once; otherwise sleep an hour.
    return done if done >= state.settings.retention_batch else 0


JOBS = [Job(name="retention-destroy", run=_destroy, interval=3600.0)]
