"""Background jobs of the events domain, run by ``python -m app.worker``."""

from __future__ import annotations

import httpx

from app.core.jobs import Job
from app.core.state import AppState, Slot
from app.events.config import webhook_settings
from app.events.delivery import default_worker_id, deliver_once
from app.events.transport import http_client

#: The worker's connection pool for webhook deliveries, kept between rounds and closed when the worker stops.
WEBHOOK_HTTP: Slot[httpx.AsyncClient] = Slot("webhook_http")
#: Who this worker is in the deliveries' leases (one name per process).
WORKER_ID: Slot[str] = Slot("worker_id")


async def _close_client(state: AppState) -> None:
    client = state.pop(WEBHOOK_HTTP)
    if client is not None:
        await client.aclose()


def _client(state: AppState) -> httpx.AsyncClient:
    """One connection pool per worker process, kept between rounds and closed at shutdown."""
    client = state.get_or_create(WEBHOOK_HTTP, lambda: http_client(webhook_settings(state)))
    state.on_stop(_close_client)
    return client


async def _deliver(state: AppState) -> int:
    cfg = webhook_settings(state)
    worker_id = state.get_or_create(WORKER_ID, default_worker_id)
    return await deliver_once(state, limit=cfg.concurrency * 4, client=_client(state), worker_id=worker_id)


JOBS = [Job(name="webhooks", run=_deliver, interval=lambda state: webhook_settings(state).poll_interval_seconds)]
