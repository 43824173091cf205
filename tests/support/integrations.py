"""Shared helpers for the integration, webhook, event and export tests (no tests here).

* :class:`Receiver`: a real HTTP server on 127.0.0.1 (a free port), that checks ``Ongi-Signature``, can
  fail on purpose, and dedupes by ``Ongi-Event-Id`` the way a receiver should;
* :func:`integration_client`: an integration client and its client-credentials token.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Organization
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.events.signing import verify
from app.journal.outbox import emit
from tests.support.factories import PASSWORD, Actor, Factory


async def integration_client(
    factory: Factory,
    scopes: list[str],
    *,
    org: Organization | None = None,
    jurisdiction: list[str] | None = None,
    token_scopes: list[str] | None = None,
) -> Actor:
    """An integration client (role ``integration``) logged in by the client-credentials grant."""
    org = org or await factory.org(OrgKind.public, jurisdiction=["11990"])
    user = await factory.user(Role.integration, org, scopes=scopes, jurisdiction=jurisdiction)
    data = {"grant_type": "client_credentials", "client_id": user.username, "client_secret": PASSWORD}
    if token_scopes is not None:
        data["scope"] = " ".join(token_scopes)
    r = await factory.client.post("/v1/auth/token", data=data)
    assert r.status_code == 200, r.text
    return Actor(user=user, org=org, token=r.json()["access_token"])


async def emit_events(
    maker: async_sessionmaker[AsyncSession],
    specs: Iterable[tuple[str, str | None]],
) -> list[uuid.UUID]:
    """Commit one outbox event per (type, district code); returns the household ids named."""
    ids = []
    async with open_session(maker, write=True) as s:
        for type_, district in specs:
            hid = uuid.uuid4()
            ids.append(hid)
            emit(s, type_, {"household_id": str(hid)}, household_id=hid, district_code=district)
    return ids


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid: bool

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """A webhook receiver on loopback. ``plan`` lists the status codes of the next answers (then 200)."""

    secret: str = ""
    plan: list[int] = field(default_factory=list)
    always: int | None = None
    received: list[Received] = field(default_factory=list)
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    _server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/ongi"

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await asyncio.wait_for(self._server.wait_closed(), timeout=5)

    async def _read(self, reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes]:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), timeout=5)
        return headers, body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers, body = await self._read(reader)
            valid = verify(self.secret, body, headers.get("ongi-signature"))
            self.received.append(Received(headers, body, valid))
            if not valid:
                status = 401
            elif self.always is not None:
                status = self.always
            elif self.plan:
                status = self.plan.pop(0)
            else:
                status = 200
            if status == 200:
                # What a receiver should do: process each event id once.
                self.processed.setdefault(headers["ongi-event-id"], json.loads(body))
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        finally:
            writer.close()

    def event_ids(self) -> list[str]:
        return [r.headers["ongi-event-id"] for r in self.received]


@asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """The app behind a real uvicorn server on 127.0.0.1 (a free port), for tests over real sockets."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", ws="none", http="h11", log_config=None, access_log=False, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
        sock.close()


async def create_webhook(client: httpx.AsyncClient, actor: Actor, url: str, types: list[str], **kw: Any) -> dict:
    r = await client.post("/v1/webhooks", headers=actor.headers, json={"url": url, "event_types": types, **kw})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]
