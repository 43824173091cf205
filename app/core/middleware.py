"""One pure-ASGI middleware around the whole app.

It assigns the request id, negotiates the language, limits body size, writes the access log and the
metrics, and turns any exception that escaped the app into a 500 problem without a stack trace.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import Problem, problem_response
from app.core.i18n import negotiate, set_language
from app.core.metrics import Metrics

log = structlog.get_logger("ongi.http")


class BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        default_language: str = "ko",
        max_body: int,
        unlimited_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.default_language = default_language
        self.max_body = max_body
        self.unlimited_prefixes = unlimited_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        set_language(negotiate(headers.get("accept-language"), self.default_language))  # type: ignore[arg-type]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        status_holder = {"status": 500, "started": False}

        async def send_raw(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                took = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"server-timing", f"app;dur={took:.2f}".encode()),
                ]
            await send(message)

        overflow = {"hit": False, "answered": False}

        async def send_wrapper(message: Message) -> None:
            if overflow["hit"]:
                # The app read past the limit and answered something else (e.g. a form parse error):
                # answer 413 instead, once.
                if not overflow["answered"]:
                    overflow["answered"] = True
                    await self._too_large(scope, send_raw)
                return
            await send_raw(message)

        limited = not scope["path"].startswith(self.unlimited_prefixes)
        receive_wrapper = receive
        if limited:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                await self._too_large(scope, send_raw)
                self._record(scope, status_holder["status"], started)
                return
            seen = 0

            async def receive_wrapper() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > self.max_body:
                        overflow["hit"] = True
                        raise BodyTooLarge
                return message

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except BodyTooLarge:
            if not status_holder["started"] and not overflow["answered"]:
                overflow["answered"] = True
                await self._too_large(scope, send_raw)
        except Exception:
            log.exception("unhandled_error", route=self._route(scope), method=scope["method"])
            if not status_holder["started"]:
                problem = Problem(500, "internal", "detail.internal", params={"request_id": request_id})
                response = problem_response(problem, Request(scope))
                await response(scope, receive, send_wrapper)
        finally:
            self._record(scope, status_holder["status"], started)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        problem = Problem(413, "payload-too-large", "detail.payload-too-large", params={"limit": self.max_body})
        response = problem_response(problem, Request(scope))

        async def _no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await response(scope, _no_body, send)

    @staticmethod
    def _route(scope: Scope) -> str:
        route: Any = scope.get("route")
        return getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"

    def _record(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = self._route(scope)
        method = scope["method"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(elapsed)
        log.info("request", method=method, route=route, status=status, ms=round(elapsed * 1000, 2))
