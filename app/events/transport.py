"""Where a webhook delivery connects: one lookup, every address checked, the connection to a checked address.

The HTTP client of deliveries (:func:`http_client`) opens its connections through a :class:`CheckedBackend`,
which resolves the host once and refuses (in production) any target that resolves to an address that is not
public, judging an IPv6 address by the IPv4 one it embeds. The delivery loop is :mod:`app.events.delivery`.
"""

from __future__ import annotations

import ipaddress
import socket
import weakref
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import anyio
import httpcore
import httpx

from app.events.config import WebhookSettings

USER_AGENT = "Ongi-Webhooks/1.0"


# Where a delivery connects is decided once: the host is resolved a single time, every address it resolves to
# must be public (in production), and the connection goes to the address that was checked; TLS (SNI and the
# certificate) and the Host header keep the hostname. This runs inside the HTTP client's network backend, so
# there is no second lookup between the check and the connect (DNS rebinding).

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, NAT64 (RFC 6052, 8215), 6to4, Teredo
    (its server part) or the deprecated IPv4-compatible form."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[0]
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Whether a webhook may connect to ``address``: globally routable and unicast, judged by the IPv4 address
    an IPv6 one embeds (a NAT64 ``64:ff9b::7f00:1`` is loopback)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            if ip.teredo is not None and not is_public_address(str(ip.teredo[1])):
                return False
            ip = inner
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host``, in the resolver's order (an IP literal is its own answer). The one lookup a
    connection makes."""
    literal = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(literal))]
    except ValueError:
        pass
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PrivateTarget(httpcore.ConnectError):
    """The target resolved to an address a webhook may not reach."""


#: Whether the delivery being sent must reach public addresses only (set by ``app.events.delivery.send`` for its
#: request).
public_only: ContextVar[bool] = ContextVar("webhook_public_only", default=True)


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects to the first checked one. Each new connection of the
    pool goes through here; a kept-alive one was checked when it was opened."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await resolve(host, port)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve: {type(exc).__name__}") from exc
        if not addresses:
            raise httpcore.ConnectError("no address")
        if public_only.get() and not all(is_public_address(a) for a in addresses):
            raise PrivateTarget("target resolves to a private address")
        return await self.inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport whose connection pool opens connections through a :class:`CheckedBackend`."""

    def __init__(self, *, limits: httpx.Limits, backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(backend),
        )


#: Clients built by :func:`http_client` (the only ones whose connections are checked).
_checked_clients: weakref.WeakSet[httpx.AsyncClient] = weakref.WeakSet()


def is_checked(client: httpx.AsyncClient) -> bool:
    """Whether ``client`` was built by :func:`http_client` (its connections go through a :class:`CheckedBackend`)."""
    return client in _checked_clients


def http_client(
    cfg: WebhookSettings, *, network_backend: httpcore.AsyncNetworkBackend | None = None
) -> httpx.AsyncClient:
    """The delivery client: its connections are opened by a :class:`CheckedBackend` (over ``network_backend``,
    the real network by default)."""
    limits = httpx.Limits(max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency)
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(cfg.timeout_seconds),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=CheckedTransport(limits=limits, backend=network_backend),
        trust_env=False,
    )
    _checked_clients.add(client)
    return client
