"""``/healthz``, ``/readyz``, ``/metrics`` (DESIGN §7)."""

from __future__ import annotations

import os
import tempfile

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.core.deps import StateDep
from app.core.errors import Problem

router = APIRouter(tags=["operations"])


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
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
    storage = state.extras.get("storage")
    if storage is None:
        try:
            from app.media.storage import get_storage
        except ModuleNotFoundError:
            pass
        else:
            storage = get_storage(state)  # the configured backend (S3 included), created once
    try:
        if storage is not None and hasattr(storage, "ping"):
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
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
