"""Background job of the audit domain, run by ``python -m app.worker``.

``audit-retention``: deletes audit events older than ``ONGI_AUDIT_RETENTION_DAYS`` (two years by default,
docs/operations.md, Retention). Idempotent; several workers may run it at once (a delete of what is already
gone is a no-op).
"""

from __future__ import annotations

from app.audit.service import purge_expired
from app.core.jobs import Job
from app.core.state import AppState
from app.core.uow import open_session


async def _purge(state: AppState) -> int:
    async with open_session(state.sessionmaker, write=True) as session:
        await purge_expired(session, state.settings)
    return 0  # a daily sweep: never loop at once, even when it deleted something


JOBS = [Job(name="audit-retention", run=_purge, interval=24 * 3600.0)]
