"""Logins and first pulls at the same moment, with real commits (issue 13 item 17; docs/access.md#tokens-and-devices,
docs/sync.md#pull).

* 20 logins of one account from 20 devices at once all succeed, also when each of them clears the account's
  failure counter and rehashes an outdated password hash (PostgreSQL is where they run truly in parallel).
* Two first pulls of one device at once answer 200 or 410, never 500.

Each request goes through the ASGI app with its own session on an app with its own database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from tests.support.live import own_app

PASSWORD = "correct horse battery"
LOGINS = 20


@pytest.fixture
async def live_app(db_kind: str, tmp_path: Path) -> AsyncIterator[object]:
    """An app on its own database, committing for real (as tests/sync/test_sync_concurrency.py)."""
    async with own_app(db_kind, tmp_path, database_pool_size=LOGINS + 5) as app:
        yield app


async def _planner(app: object, *, password_hash: str | None = None) -> tuple[Organization, User]:
    state = app.state.ongi  # type: ignore[attr-defined]
    async with open_session(state.sessionmaker, write=True) as s:
        org = Organization(name=f"동시 로그인 {uuid.uuid4().hex[:6]}", kind=OrgKind.public, jurisdiction=["11990"])
        s.add(org)
        await s.flush()
        user = User(
            organization_id=org.id,
            username=f"planner-{uuid.uuid4().hex[:6]}",
            display_name="동시 로그인",
            role=Role.planner,
            password_hash=password_hash or state.security.hash_password_sync(PASSWORD),
        )
        s.add(user)
    return org, user


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_twenty_logins_of_one_account_at_once_all_succeed(live_app: object) -> None:
    state = live_app.state.ongi  # type: ignore[attr-defined]
    # A hash of other Argon2 parameters than the service's: each login below wants to rehash it.
    outdated = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1).hash(PASSWORD)
    assert state.security.hasher.check_needs_rehash(outdated)
    _, user = await _planner(live_app, password_hash=outdated)

    async with _client(live_app) as client:
        # one failure first, so that every login below also clears the account's failure counter
        r = await client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": user.username, "password": "wrong"}
        )
        assert r.status_code in (400, 401)

        async def login(n: int) -> httpx.Response:
            return await client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": user.username,
                    "password": PASSWORD,
                    "device_id": f"phone-{n}",
                    "device_name": f"Galaxy {n}",
                },
            )

        answers = await asyncio.wait_for(asyncio.gather(*(login(n) for n in range(LOGINS))), timeout=120)
        assert [r.status_code for r in answers] == [200] * LOGINS, [r.text for r in answers if r.status_code != 200]
        devices = {r.json()["device_id"] for r in answers}
        assert len(devices) == LOGINS
        for r in answers:  # every token works
            me = await client.get("/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
            assert me.status_code == 200, me.text

    async with state.sessionmaker() as s:
        row = (
            await s.execute(select(User.version, User.password_hash, User.last_login_at).where(User.id == user.id))
        ).one()
    assert row.version == user.version  # logins do not move the optimistic-lock counter
    assert row.last_login_at is not None
    assert row.password_hash != outdated  # rehashed with the service's parameters
    assert not state.security.hasher.check_needs_rehash(row.password_hash)
    assert (await state.security.verify_password(row.password_hash, PASSWORD))[0]


async def test_two_first_pulls_of_one_device_at_once_never_fail(live_app: object) -> None:
    from datetime import timedelta

    from app.core.db import utcnow
    from app.households.models import Household
    from app.visits.models import Visit, VisitAssignee

    state = live_app.state.ongi  # type: ignore[attr-defined]
    org, user = await _planner(live_app)
    async with open_session(state.sessionmaker, write=True) as s:
        for n in range(5):
            h = Household(district_code="11990", dong_code="1199051000", address=f"동시로 {n}", head_name=f"동시{n}")
            s.add(h)
            await s.flush()
            now = utcnow()
            v = Visit(
                household_id=h.id,
                dong_code=h.dong_code,
                purpose="assessment",
                window_start=now,
                window_end=now + timedelta(hours=2),
            )
            s.add(v)
            await s.flush()
            s.add(VisitAssignee(visit_id=v.id, user_id=user.id, organization_id=org.id))

    statuses: list[int] = []
    async with _client(live_app) as client:
        for round_ in range(8):  # a new device each round: each pair is a first pull
            r = await client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": user.username,
                    "password": PASSWORD,
                    "device_id": f"twin-{round_}",
                },
            )
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            pair = await asyncio.wait_for(
                asyncio.gather(*(client.get("/v1/sync/pull", headers=headers) for _ in range(2))), timeout=60
            )
            codes = [p.status_code for p in pair]
            assert set(codes) <= {200, 410}, [p.text for p in pair]
            assert 200 in codes
            statuses += codes
            # the device goes on from the pull that won: a full sync again works
            again = await client.get("/v1/sync/pull", headers=headers)
            assert again.status_code == 200, again.text
            assert len([c for c in again.json()["changes"] if c["entity"] == "household"]) == 5
    assert set(statuses) <= {200, 410}
