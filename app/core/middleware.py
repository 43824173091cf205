"""One pure-ASGI middleware around the whole app.

It assigns the request id, finds the client's address, negotiates the language, limits body size, marks every
``/v1`` response as not to be cached or sniffed, writes the access log and the metrics, and turns any exception
that escaped the app into a 500 problem without a stack trace.

* The request id is the client's ``X-Request-ID`` only when it is a UUID (a log line never carries text a client
  chose); otherwise a new one.
* Forwarded client addresses (``X-Forwarded-For``, ``Forwarded``) are believed only when the TCP peer is one of
  the trusted proxies (docs/operations.md): walking the chain from the right, the first address that is not a trusted
  proxy is the client. uvicorn runs with ``--no-proxy-headers`` so that this is the only place deciding it.
"""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import Iterable
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


#: Headers on every ``/v1`` response: almost all of them carry personal data, none may be cached or sniffed.
API_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))
_REPLACED = frozenset(name for name, _ in API_HEADERS) | {b"pragma"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FORWARDED_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def request_id_from(incoming: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a UUID (in its canonical form), else a new one."""
    if incoming and len(incoming) <= 45:
        try:
            return str(uuid.UUID(incoming))
        except ValueError:
            pass
    return uuid.uuid4().hex


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:4711" (Forwarded)
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # "192.0.2.1:8080"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_chain(headers: dict[str, str]) -> list[str]:
    """The addresses a request passed through, client first: ``Forwarded`` (RFC 7239) if present, else
    ``X-Forwarded-For``. Entries that are not addresses (``unknown``, obfuscated names) are kept as they are."""
    if "forwarded" in headers:
        return [
            m.group(1).strip('"')
            for element in headers["forwarded"].split(",")
            for m in [_FORWARDED_FOR.search(element)]
            if m
        ]
    if "x-forwarded-for" in headers:
        return [part.strip() for part in headers["x-forwarded-for"].split(",") if part.strip()]
    return []


class ClientAddress:
    """Decides the client's address from the TCP peer and, only behind a trusted proxy, the forwarded chain."""

    def __init__(self, trusted: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)

    def trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def resolve(self, peer: str | None, headers: dict[str, str]) -> str | None:
        if not self.networks or peer is None or not self.trusted(_ip(peer)):
            return peer
        client = peer
        for hop in reversed(forwarded_chain(headers)):
            address = _ip(hop)
            if address is None:
                break  # the chain is not addresses from here on: the last trusted hop is all that is known
            client = str(address)
            if not self.trusted(address):
                break
        return client


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        default_language: str = "ko",
        max_body: int,
        unlimited_prefixes: tuple[str, ...] = (),
        unlimited_paths: re.Pattern[str] | None = None,
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.default_language = default_language
        self.max_body = max_body
        self.unlimited_prefixes = unlimited_prefixes
        #: Paths whose route bounds its own body (a full match), e.g. a consent's signed form.
        self.unlimited_paths = unlimited_paths
        self.client_address = ClientAddress(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = request_id_from(headers.get("x-request-id"))
        client = scope.get("client")
        if client is not None and self.client_address.networks:
            address = self.client_address.resolve(client[0], headers)
            if address != client[0]:
                scope["client"] = (address, 0)
        api = scope["path"].startswith("/v1/") or scope["path"] == "/v1"
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
                own = message.get("headers", [])
                if api:
                    own = [(k, v) for k, v in own if k.lower() not in _REPLACED]
                    own.extend(API_HEADERS)
                message["headers"] = [
                    *own,
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

        limited = not scope["path"].startswith(self.unlimited_prefixes) and not (
            self.unlimited_paths is not None and self.unlimited_paths.fullmatch(scope["path"])
        )
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
