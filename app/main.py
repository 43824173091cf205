"""``create_app()`` builds the service. Nothing connects at import time.

Run with ``uvicorn app.main:create_app --factory`` (``scripts/serve`` does it for you).
"""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import registry, web
from app.boot import build_state
from app.core import errors, openapi
from app.core.config import Settings
from app.core.http import RepresentationETag
from app.core.middleware import RequestContextMiddleware
from app.sync import schemas as sync_schemas
from app.sync.fastpath import EmptyPullFastPath

DESCRIPTION = """
Ongi (온기) is the API behind the phone app that welfare planners and partner staff use on home visits
to households in crisis, and behind the coordinators and other systems around it.

Errors are RFC 9457 `application/problem+json`; messages follow `Accept-Language` (Korean by default).
"""

#: Paths whose bodies are streamed and limited by their own rules (tus chunks, bulk NDJSON imports, uploaded
#: spreadsheets: app.integrations.uploads.MAX_UPLOAD_BYTES).
UNLIMITED_BODY_PREFIXES = ("/v1/uploads", "/v1/integrations/households:bulk", "/v1/integrations/imports")
#: Routes that bound their own body (``consent_form_max_bytes``): a consent's signed form.
UNLIMITED_BODY_PATHS = re.compile(r"/v1/households/[^/]+/consents/[^/]+/form")


def tune_gc(settings: Settings) -> None:
    """What exists once the app started (modules, mappers, routes, schemas) lives as long as the process: keep
    it out of every later collection (under load the full collections otherwise walk it again and again, each a
    pause of the event loop: measured in scripts/bench, 60 devices), and collect the young generation less
    often (``settings.gc_thresholds``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*settings.gc_thresholds)


def create_app(settings: Settings | None = None) -> FastAPI:
    state = build_state(settings)
    settings = state.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The state's hooks (app.core.state): start in order, stop in reverse, then the engine is disposed.
        # Routers' own lifespans (media, integrations, ops) run inside this one.
        try:
            await state.start()
            if settings.env != "test":
                tune_gc(settings)
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="Ongi",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # openapi.install_docs: Swagger UI without a CDN
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.ongi = state
    errors.install(app)
    for router in registry.routers():
        app.include_router(router)
    openapi.install(app, extend=[sync_schemas.document_unions])
    openapi.install_docs(app, "/docs")
    web.install(app, settings.web_dir)  # Ongi Field at /app/ (docs/apps.md)
    # ETags name the representation (view, language); 304 for If-None-Match (app/core/http.py).
    app.add_middleware(RepresentationETag)
    # Innermost of ours: answers a polling phone's empty pull without the router (docs/performance.md).
    app.add_middleware(EmptyPullFastPath, state=state)
    if settings.cors_origins:  # only the configured origins; none configured: no CORS headers at all
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=[
                "ETag",
                "Location",
                "Retry-After",
                "X-Request-ID",
                "Upload-Offset",
                "Upload-Length",
                "Upload-Metadata",
                "Upload-Expires",
                "Tus-Resumable",
                "Tus-Version",
                "Tus-Extension",
                "Tus-Max-Size",
                "Tus-Checksum-Algorithm",
                "Content-Range",
                "Accept-Ranges",
                "Ongi-Upload-Status",
                "Ongi-Upload-Failure",
            ],
        )
    app.add_middleware(
        RequestContextMiddleware,
        metrics=state.metrics,
        default_language=settings.default_language,
        max_body=settings.max_request_body_bytes,
        unlimited_prefixes=UNLIMITED_BODY_PREFIXES,
        unlimited_paths=UNLIMITED_BODY_PATHS,
        trusted_proxies=settings.trusted_proxies,
    )
    return app
