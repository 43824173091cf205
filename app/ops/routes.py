"""``/healthz``, ``/readyz``, ``/metrics`` (docs/operations.md)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.core.deps import StateDep
from app.core.errors import Problem
from app.core.metrics import ScrapeCollector, mark_process_dead
from app.core.state import AppState
from app.media.storage import get_storage
from app.ops import repository

log = structlog.get_logger("ongi.ops")

#: How often each process refreshes its own gauges (memory, CPU, pool) in multiprocess mode.
SAMPLE_SECONDS = 10.0


async def _sample_forever(state: AppState) -> None:
    while True:
        state.metrics.sample_process(state.engine)
        await asyncio.sleep(SAMPLE_SECONDS)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """In multiprocess mode every process refreshes its gauges by itself (a scrape reaches only one of
    them), and drops its live gauges when it stops."""
    state: AppState = app.state.ongi
    task = asyncio.create_task(_sample_forever(state)) if state.metrics.multiprocess else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            mark_process_dead(os.getpid())


router = APIRouter(tags=["operations"], lifespan=lifespan)


@router.get("/healthz", summary="Alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _probe_dir(path: str) -> None:
    os.makedirs(path, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path, prefix=".ready-", delete=True) as fh:
        fh.write(b"ok")
        fh.flush()


@router.get(
    "/readyz",
    summary="Database and file storage reachable",
    responses={503: {"description": "A dependency is unreachable"}},
)
async def readyz(request: Request, state: StateDep) -> dict[str, object]:
    checks: dict[str, str] = {}
    try:
        await repository.ping(state.engine)
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
    storage = get_storage(state)  # the app's storage slot: the configured backend (S3 included), created once
    try:
        if hasattr(storage, "ping"):
            await storage.ping()
        else:
            await anyio.to_thread.run_sync(_probe_dir, str(state.settings.files_dir))
        checks["storage"] = "ok"
    except Exception:
        checks["storage"] = "unreachable"
    if any(v != "ok" for v in checks.values()):
        raise Problem(503, "unavailable", extra={"checks": checks}, headers={"Retry-After": "5"})
    return {"status": "ok", "checks": checks}


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}}
)
async def metrics(state: StateDep) -> Response:
    state.metrics.sample_process(state.engine)
    return Response(state.metrics.exposition(await _database_gauges(state)), media_type=CONTENT_TYPE_LATEST)


async def _database_gauges(state: AppState) -> ScrapeCollector | None:
    """Figures only the shared database knows, read at scrape time: the same whichever process answers."""
    try:
        from app.events.models import DeliveryStatus
    except ModuleNotFoundError:
        return None
    try:
        counts = await repository.webhook_delivery_counts(state.engine)
    except Exception:  # the scrape still answers; /readyz tells the database is down
        log.warning("metrics_database_unreachable")
        return None
    if counts is None:
        return None
    return ScrapeCollector(
        [
            (
                "ongi_outbox_backlog",
                "Webhook deliveries waiting to be sent (pending or failed, to be retried)",
                float(counts.get(DeliveryStatus.pending.value, 0) + counts.get(DeliveryStatus.retrying.value, 0)),
            ),
            (
                "ongi_webhook_deliveries_dead",
                "Webhook deliveries given up after the last attempt (the dead-letter list)",
                float(counts.get(DeliveryStatus.dead.value, 0)),
            ),
        ]
    )
