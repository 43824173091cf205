from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter

from app.core.errors import PROBLEM_MEDIA_TYPE
from app.main import create_app


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


async def test_readyz_checks_database_and_storage(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "storage": "ok"}


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert "ongi_http_requests_total" in r.text
    assert 'route="/healthz"' in r.text


async def test_unknown_path_is_problem_404_in_korean_by_default(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/no-such-thing")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["type"].endswith("/problems/not-found")
    assert body["status"] == 404
    assert body["title"] == "찾을 수 없습니다"


async def test_problem_language_follows_accept_language(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/no-such-thing", headers={"Accept-Language": "en-US,en;q=0.9,ko;q=0.5"})
    assert r.json()["title"] == "Not found"
    ko = await client.get("/v1/no-such-thing", headers={"Accept-Language": "en;q=0.4, ko;q=0.8"})
    assert ko.json()["title"] == "찾을 수 없습니다"
    assert ko.json()["type"] == r.json()["type"]


async def test_method_not_allowed_is_problem(client: httpx.AsyncClient) -> None:
    r = await client.delete("/healthz")
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.json()["type"].endswith("/problems/method-not-allowed")


async def test_validation_error_lists_fields(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/auth/refresh", data={}, headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["type"].endswith("/problems/validation")
    assert any(e["field"] == "body.refresh_token" for e in body["errors"])
    # The token endpoint answers as RFC 6749 §5.2 instead (what OAuth2 clients parse).
    r = await client.post("/v1/auth/token", data={"grant_type": "magic"}, headers={"Accept-Language": "en"})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


async def test_oversized_body_is_413_problem(client: httpx.AsyncClient, settings: object) -> None:
    big = b"x" * (settings.max_request_body_bytes + 1)  # type: ignore[attr-defined]
    r = await client.post("/v1/auth/token", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE


async def test_oversized_streamed_body_without_length_is_413(client: httpx.AsyncClient, settings: object) -> None:
    limit = settings.max_request_body_bytes  # type: ignore[attr-defined]

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    r = await client.post("/v1/users", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE


async def test_unexpected_error_is_500_problem_without_trace(settings: object) -> None:
    app = create_app(settings)  # type: ignore[arg-type]
    boom = APIRouter()

    @boom.get("/boom")
    async def explode() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
    await app.state.ongi.engine.dispose()
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "secret internal detail" not in r.text
    assert "Traceback" not in r.text
    assert r.json()["request_id"] == r.headers["x-request-id"]


@pytest.mark.parametrize("header", ["en", "ko", None])
async def test_request_id_is_echoed(client: httpx.AsyncClient, header: str | None) -> None:
    rid = "5f0c3a5e-8d3b-4c47-9a51-3f1f0b6f6a11"  # a client's id is kept only when it is a UUID (issue 13)
    r = await client.get("/healthz", headers={"X-Request-ID": rid})
    assert r.headers["x-request-id"] == rid
