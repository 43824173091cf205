"""Expiry and leftovers of uploads: the worker's ``uploads-cleanup`` job (:mod:`app.media.jobs`,
``docs/uploads.md``)."""

from __future__ import annotations

import structlog

from app.core.db import utcnow
from app.core.state import AppState
from app.core.uow import open_session
from app.media.processing import resume_completion
from app.media.repository import UploadRepository
from app.media.staging import Stage

log = structlog.get_logger("ongi.media")


async def cleanup_expired_uploads(state: AppState) -> int:
    """Expire incomplete uploads past ``expires_at`` and delete their staged bytes; delete bytes left behind
    by finished uploads; finish uploads whose completion was interrupted (a crash while ``processing``).

    Returns how many uploads were cleaned up (expired, purged or finished). Safe to run from several
    workers at once: every change is a compare-and-set."""
    stage = Stage(state)
    now = utcnow()
    count = 0
    async with open_session(state.sessionmaker, write=True) as session:
        await UploadRepository(session).expire_stale(now)
    async with open_session(state.sessionmaker, write=False) as session:
        uploads = UploadRepository(session)
        # Everything finished that may still have staged bytes (including the ones just expired).
        leftovers = await uploads.finished_with_segments()
        stuck = await uploads.stuck_ids(now)
    for upload_id in leftovers:
        await stage.purge_staging(upload_id)
        count += 1
    for upload_id in stuck:
        if await resume_completion(state, upload_id):
            count += 1
    if count:
        log.info("uploads_cleaned", count=count)
    return count
