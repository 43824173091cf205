"""Background jobs of the events domain, run by ``python -m app.worker``."""

from __future__ import annotations

import httpx

from app.core.jobs import Job
from app.core.state import AppState
from app.events.config import webhook_settings
from app.events.delivery import default_worker_id, deliver_once
from app.events.transport import http_client


def _client(state: AppState) -> httpx.AsyncClient:
    """One connection pool per worker process, kept between rounds and closed at shutdown."""
    client: httpx.AsyncClient | None = state.extras.get("webhook_http")
    if client is None:
        client = state.extras["webhook_http"] = http_client(webhook_settings(state))

        async def _close(_state: AppState) -> None:
            await client.aclose()

        state.extras.setdefault("shutdown", []).append(_close)
    return client


async def _deliver(state: AppState) -> int:
    cfg = webhook_settings(state)
    worker_id = state.extras.setdefault("worker_id", default_worker_id())
    return await deliver_once(state, limit=cfg.concurrency * 4, client=_client(state), worker_id=worker_id)


JOBS = [Job(name="webhooks", run=_deliver, interval=lambda state: webhook_settings(state).poll_interval_seconds)]
