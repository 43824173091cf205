"""Ongi Field, the phone web app, at ``/app/`` and Ongi Desk, the console, at ``/desk/`` (docs/apps.md), served on
the API's origin.

``npm run build`` in ``web/`` writes the apps to ``web/dist/field/`` and ``web/dist/desk/`` (``ONGI_WEB_DIR``
points elsewhere for Field; Desk is the folder ``desk`` beside it); ``scripts/serve`` runs it when Node 20+ and
npm are there. What is served, for each app:

- the files of the build; any other path without a file extension answers ``index.html`` (the app routes by
  hash, so this only catches deep links and old bookmarks); a missing file with an extension stays a 404, so
  a stale service worker never caches HTML in place of a script;
- ``Cache-Control: no-cache`` for ``index.html``, the service worker ``sw.js`` and everything else whose name
  is not hashed, so that a new build reaches phones on their next start; ``immutable`` for Vite's hashed
  ``assets/``; for Field ``Service-Worker-Allowed: /app/`` so the worker controls the whole app (Desk has no
  service worker);
- without a build, a short page in Korean and English that says how to build it (503, not cached).

None of it is in the OpenAPI document: it is not API.
"""

from __future__ import annotations

import mimetypes
import os
from html import escape
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

#: Where the app lives on the origin; the build is made with Vite ``base: "/app/"``.
PREFIX = "/app"
#: Where Ongi Desk lives (Vite ``base: "/desk/"``), built to the folder ``desk`` beside Field's.
DESK_PREFIX = "/desk"
DESK_FOLDER = "desk"
FIELD_NAMES = ("온기 현장", "Ongi Field")
DESK_NAMES = ("온기 데스크", "Ongi Desk")
#: Vite's folder of content-hashed files (``build.assetsDir``).
HASHED_DIR = "assets"
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"

mimetypes.add_type("application/manifest+json", ".webmanifest")

MISSING_PAGE = """<!doctype html>
<html lang="ko">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{ko} 앱이 아직 빌드되지 않았습니다 / {en} is not built yet</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f2f2f2;padding:0 .25rem}}</style></head>
<body>
<main>
<h1>{ko} 앱이 아직 빌드되지 않았습니다</h1>
<p>API는 정상 동작 중입니다 (<a href="/docs">/docs</a>). 앱을 쓰려면 Node 20 이상과 npm을 설치한 뒤
<code>scripts/serve</code>를 다시 실행하세요. 직접 빌드하려면 <code>web/</code>에서
<code>npm ci &amp;&amp; npm run build</code>를 실행합니다.</p>
<h2 lang="en">{en} is not built yet</h2>
<p lang="en">The API is running (<a href="/docs">/docs</a>). To use the app, install Node 20 or newer with npm
and run <code>scripts/serve</code> again. To build it by hand, run <code>npm ci &amp;&amp; npm run build</code>
in <code>web/</code>.</p>
<p><small>{where}</small></p>
</main>
</body>
</html>
"""


class FieldApp(StaticFiles):
    """The built app's folder with the SPA fallback and the cache rules above."""

    def __init__(self, directory: Path, prefix: str = PREFIX, names: tuple[str, str] = FIELD_NAMES) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.root = directory
        self.prefix = prefix
        self.names = names

    async def check_config(self) -> None:
        """The build may appear (or vanish) while the service runs: it is looked for on each request."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not (self.root / "index.html").is_file():
            return _missing(self.root, self.names)
        served = path.replace(os.sep, "/")
        if served in ("", "."):  # /app/ itself
            served = "index.html"
        try:
            response = await super().get_response(served, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in served.rsplit("/", 1)[-1]:
                raise
            served = "index.html"
            response = await super().get_response(served, scope)
        _cache_headers(response, served, worker_scope=self.prefix + "/" if self.prefix == PREFIX else None)
        return response


def _cache_headers(response: Response, served: str, worker_scope: str | None = PREFIX + "/") -> None:
    if served.startswith(HASHED_DIR + "/"):
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = NO_CACHE
    if worker_scope:
        response.headers["Service-Worker-Allowed"] = worker_scope
    response.headers["X-Content-Type-Options"] = "nosniff"


def _missing(root: Path, names: tuple[str, str] = FIELD_NAMES) -> Response:
    where = escape(f"ONGI_WEB_DIR: {root}")
    page = MISSING_PAGE.format(where=where, ko=names[0], en=names[1])
    return HTMLResponse(page, status_code=503, headers={"Cache-Control": "no-store"})


def install(app: FastAPI, web_dir: Path) -> None:
    """Serve Field at ``/app/`` and Desk at ``/desk/`` (``/app`` and ``/desk`` redirect there)."""

    @app.get(PREFIX, include_in_schema=False)
    async def _to_app() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)

    @app.get(DESK_PREFIX, include_in_schema=False)
    async def _to_desk() -> RedirectResponse:
        return RedirectResponse(DESK_PREFIX + "/", status_code=307)

    app.mount(PREFIX, FieldApp(Path(web_dir)), name="field")
    desk = FieldApp(Path(web_dir).parent / DESK_FOLDER, DESK_PREFIX, DESK_NAMES)
    app.mount(DESK_PREFIX, desk, name="desk")
