"""What must hold under faults (docs/testing.md#what-must-hold-under-stress), against a real server process on
loopback."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.auth.models import Organization, User
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.households.models import Household
from app.sync.models import SyncMutation
from app.visits.models import Visit, VisitAssignee
from tests.conftest import make_settings
from tests.support.live import LiveServer, free_port, live_database

PASSWORD = "correct horse battery"


async def _seed(url: str, tmp_path: Path, households: int) -> list[uuid.UUID]:
    settings = make_settings(url, tmp_path)
    engine = create_engine(settings)
    from app.core.security import Security

    ids = []
    try:
        async with open_session(create_sessionmaker(engine), write=True) as s:
            org = Organization(name="장애 구청", kind=OrgKind.public, jurisdiction=["11990"])
            s.add(org)
            await s.flush()
            user = User(
                organization_id=org.id,
                username="fault-planner",
                display_name="장애",
                role=Role.planner,
                password_hash=Security(settings).hash_password_sync(PASSWORD),
            )
            s.add(user)
            await s.flush()
            now = utcnow()
            for i in range(households):
                h = Household(district_code="11990", dong_code="1199051000", address=f"장애로 {i}", head_name=f"장{i}")
                s.add(h)
                await s.flush()
                v = Visit(
                    household_id=h.id,
                    dong_code=h.dong_code,
                    purpose="assessment",
                    window_start=now,
                    window_end=now + timedelta(hours=3),
                )
                s.add(v)
                await s.flush()
                s.add(VisitAssignee(visit_id=v.id, user_id=user.id, organization_id=org.id))
                ids.append(h.id)
    finally:
        await engine.dispose()
    return ids


async def test_server_killed_mid_push_then_retry_applies_each_mutation_once(db_kind: str, tmp_path: Path) -> None:
    async with live_database(db_kind, tmp_path) as url:
        households = await _seed(url, tmp_path, 20)
        server = LiveServer(url, tmp_path)
        server.start()
        try:
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
                token = (
                    await http.post(
                        "/v1/auth/token",
                        data={
                            "grant_type": "password",
                            "username": "fault-planner",
                            "password": PASSWORD,
                            "device_id": "fault-phone",
                        },
                    )
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                mutations = [
                    {
                        "mutation_id": str(uuid.uuid4()),
                        "entity": "household",
                        "op": "patch",
                        "id": str(households[i % len(households)]),
                        "base_version": None,
                        "data": {"living_situation": f"기록 {i}"},
                        "at": datetime.now(UTC).isoformat(),
                    }
                    for i in range(400)
                ]
                body = {"device_id": "fault-phone", "mutations": mutations}
                killed = False
                for delay in (0.05, 0.02, 0.1, 0.01):  # kill while the push is being applied
                    task = asyncio.create_task(http.post("/v1/sync/push", json=body, headers=headers))
                    await asyncio.sleep(delay)
                    server.kill()
                    with contextlib.suppress(httpx.HTTPError):
                        r = await task
                        if r.status_code == 200:
                            server.start()
                            continue  # finished before the kill: try again with a fresh set
                    killed = True
                    break
                if not killed:
                    pytest.skip("the push always finished before the kill on this machine")
                server.start()
                retry = await http.post("/v1/sync/push", json=body, headers=headers)
                assert retry.status_code == 200, retry.text
                statuses = {r["status"] for r in retry.json()["results"]}
                assert statuses <= {"applied", "duplicate"}
                again = await http.post("/v1/sync/push", json=body, headers=headers)
                assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
        finally:
            server.stop()

        engine = create_engine(make_settings(url, tmp_path))
        try:
            async with create_sessionmaker(engine)() as s:
                recorded = (await s.execute(select(func.count()).select_from(SyncMutation))).scalar_one()
                versions = dict((await s.execute(select(Household.id, Household.version))).all())
        finally:
            await engine.dispose()
        assert recorded == 400
        # 400 patches over 20 households: each applied exactly once means version 1 + 20 for each
        assert set(versions.values()) == {21}


class Proxy:
    """A TCP proxy to the database that a test can cut and restore."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.conns: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.conns |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for w in self.conns:
            with contextlib.suppress(Exception):
                w.close()
        self.conns.clear()


@pytest.mark.postgres_only
async def test_database_unreachable_answers_503_and_recovers(tmp_path: Path) -> None:
    from app.main import create_app

    async with live_database("postgres", tmp_path) as url:
        real = make_url(url)
        proxy = Proxy(real.host or "127.0.0.1", real.port or 5432)
        await proxy.open()
        via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = create_app(make_settings(via_proxy, tmp_path))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                assert (await c.get("/readyz")).status_code == 200
                await proxy.cut()
                for path in ("/readyz", "/v1/me"):
                    r = await c.get(path, headers={"Authorization": "Bearer x.y.z"})
                    assert r.status_code in (401, 503)
                r = await c.get("/readyz")
                assert r.status_code == 503
                assert r.headers["content-type"] == "application/problem+json"
                assert r.json()["checks"]["database"] == "unreachable"
                login = await c.post(
                    "/v1/auth/token", data={"grant_type": "password", "username": "x", "password": "y"}
                )
                assert login.status_code == 503
                assert "Traceback" not in login.text
                await proxy.open()
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    if (await c.get("/readyz")).status_code == 200:
                        break
                    await asyncio.sleep(0.2)
                assert (await c.get("/readyz")).status_code == 200
                r = await c.post("/v1/auth/token", data={"grant_type": "password", "username": "x", "password": "y"})
                # the database answers again: a normal refusal (RFC 6749: 400 invalid_grant)
                assert r.status_code == 400
                assert r.json()["error"] == "invalid_grant"
        finally:
            await proxy.cut()
            await app.state.ongi.engine.dispose()
