"""Ongi Field served at /app/ (app/web.py): the build's files with their cache rules, the SPA fallback, the
page that says how to build when there is no build, and none of it in the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings

INDEX = '<!doctype html><html lang="ko"><head><script type="module" src="/app/assets/index-Bx7kQ9aZ.js"></script>'


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    return tmp_path / "field"


@pytest.fixture
async def web(database_url: str, tmp_path: Path, web_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, tmp_path / "data", web_dir=web_dir))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    await app.state.ongi.engine.dispose()


def build(web_dir: Path) -> None:
    (web_dir / "assets").mkdir(parents=True)
    (web_dir / "index.html").write_text(INDEX, encoding="utf-8")
    (web_dir / "sw.js").write_text("self.addEventListener('install', () => {});", encoding="utf-8")
    (web_dir / "manifest.webmanifest").write_text('{"name": "온기 현장"}', encoding="utf-8")
    (web_dir / "assets" / "index-Bx7kQ9aZ.js").write_text("console.log('ongi');", encoding="utf-8")


async def test_missing_build_answers_how_to_build_it_in_both_languages(web: httpx.AsyncClient, web_dir: Path) -> None:
    for path in ("/app/", "/app/index.html", "/app/visits/1"):
        r = await web.get(path)
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-store"
        assert "Node 20" in r.text
        assert "npm" in r.text
        assert "scripts/serve" in r.text
        assert "빌드되지 않았습니다" in r.text
        assert "is not built yet" in r.text
    # the build appears while the service runs: served at once
    build(web_dir)
    r = await web.get("/app/")
    assert r.status_code == 200
    assert r.text == INDEX


async def test_app_redirects_to_its_folder(web: httpx.AsyncClient) -> None:
    r = await web.get("/app")
    assert r.status_code == 307
    assert r.headers["location"] == "/app/"


async def test_build_is_served_with_cache_rules(web: httpx.AsyncClient, web_dir: Path) -> None:
    build(web_dir)
    index = await web.get("/app/")
    assert index.status_code == 200
    assert index.text == INDEX
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["service-worker-allowed"] == "/app/"

    named = await web.get("/app/index.html")
    assert named.headers["cache-control"] == "no-cache"

    worker = await web.get("/app/sw.js")
    assert worker.status_code == 200
    assert "javascript" in worker.headers["content-type"]
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/app/"

    manifest = await web.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.headers["cache-control"] == "no-cache"

    asset = await web.get("/app/assets/index-Bx7kQ9aZ.js")
    assert asset.status_code == 200
    assert asset.text == "console.log('ongi');"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"

    again = await web.get("/app/sw.js", headers={"If-None-Match": worker.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"


async def test_paths_without_a_file_fall_back_to_the_shell(web: httpx.AsyncClient, web_dir: Path) -> None:
    build(web_dir)
    for path in ("/app/visits/3f2a", "/app/assets", "/app/login"):
        r = await web.get(path)
        assert r.status_code == 200, path
        assert r.text == INDEX
        assert r.headers["cache-control"] == "no-cache"


async def test_missing_files_stay_404_and_nothing_leaves_the_folder(
    web: httpx.AsyncClient, web_dir: Path, tmp_path: Path
) -> None:
    build(web_dir)
    (tmp_path / "secret.txt").write_text("not served", encoding="utf-8")
    for path in ("/app/assets/index-Old00000.js", "/app/favicon.ico", "/app/../secret.txt", "/app/%2e%2e/secret.txt"):
        r = await web.get(path)
        assert r.status_code == 404, path
        assert "not served" not in r.text
        assert r.headers["content-type"].startswith("application/problem+json"), path
    r = await web.post("/app/index.html")
    assert r.status_code == 405


async def test_app_routes_are_not_in_the_openapi_document(web: httpx.AsyncClient, web_dir: Path) -> None:
    build(web_dir)
    paths = (await web.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p == "/app" or p.startswith("/app/")]


# --- Ongi Desk at /desk/: the folder ``desk`` beside Field's build --------------------------------------------

DESK_INDEX = '<!doctype html><html lang="ko"><head><script type="module" src="/desk/assets/index-Dk7kQ9aZ.js"></script>'


def build_desk(web_dir: Path) -> Path:
    desk = web_dir.parent / "desk"
    (desk / "assets").mkdir(parents=True)
    (desk / "index.html").write_text(DESK_INDEX, encoding="utf-8")
    (desk / "assets" / "index-Dk7kQ9aZ.js").write_text("console.log('desk');", encoding="utf-8")
    return desk


async def test_desk_without_a_build_says_how_to_build_it(web: httpx.AsyncClient, web_dir: Path) -> None:
    build(web_dir)  # Field built, Desk not: each app answers for itself
    r = await web.get("/desk/")
    assert r.status_code == 503
    assert r.headers["cache-control"] == "no-store"
    assert "온기 데스크" in r.text
    assert "Ongi Desk is not built yet" in r.text
    assert "scripts/serve" in r.text
    assert (await web.get("/app/")).text == INDEX
    build_desk(web_dir)
    r = await web.get("/desk/")
    assert r.status_code == 200
    assert r.text == DESK_INDEX


async def test_desk_is_served_with_cache_rules_and_the_shell_fallback(web: httpx.AsyncClient, web_dir: Path) -> None:
    build(web_dir)
    build_desk(web_dir)
    redirect = await web.get("/desk")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "/desk/"

    index = await web.get("/desk/")
    assert index.text == DESK_INDEX
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert "service-worker-allowed" not in index.headers  # no service worker for the console
    asset = await web.get("/desk/assets/index-Dk7kQ9aZ.js")
    assert asset.text == "console.log('desk');"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("/desk/households/3f2a", "/desk/triage"):
        r = await web.get(path)
        assert r.status_code == 200, path
        assert r.text == DESK_INDEX
    for path in ("/desk/assets/index-Old00000.js", "/desk/sw.js", "/desk/../field/index.html"):
        r = await web.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json"), path
    # Field is unchanged beside it
    assert (await web.get("/app/")).headers["service-worker-allowed"] == "/app/"


async def test_desk_routes_are_not_in_the_openapi_document(web: httpx.AsyncClient, web_dir: Path) -> None:
    build_desk(web_dir)
    paths = (await web.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p == "/desk" or p.startswith("/desk/")]
