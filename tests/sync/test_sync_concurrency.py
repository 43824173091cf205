"""Many writers and pullers at once, with real commits (docs/sync.md#pull, docs/testing.md#what-must-hold-under-stress).

* Every device converges on the server's state with every record, and never receives the same
  (entity, id, version) twice.
* A poller reading the change log as ``seq > last AND seq <= counter`` sees every change exactly once,
  although the writers commit concurrently.

Runs on PostgreSQL (where commit order and sequence order can differ) with ``--db postgres``; on SQLite it
runs too, where writers are serialized by the database.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.households.models import Household
from app.sync.models import ChangeCounter, ChangeLog
from app.visits.models import Visit, VisitAssignee
from tests.support.live import own_app
from tests.support.sync import Phone

WRITERS, TXNS_PER_WRITER, DEVICES = 6, 12, 3


@pytest.fixture
async def live_app(db_kind: str, tmp_path: Path) -> AsyncIterator[object]:
    """An app on its own database, committing for real."""
    async with own_app(db_kind, tmp_path, database_pool_size=20) as app:
        yield app


async def test_concurrent_writers_and_pullers_miss_nothing(live_app: object) -> None:
    from datetime import timedelta

    from app.core.db import utcnow

    state = live_app.state.ongi  # type: ignore[attr-defined]
    maker = state.sessionmaker
    async with open_session(maker, write=True) as s:
        org = Organization(name="동시성 구청", kind=OrgKind.public, jurisdiction=["11990"])
        s.add(org)
        await s.flush()
        planner = User(
            organization_id=org.id,
            username="conc-planner",
            display_name="동시성",
            role=Role.planner,
            password_hash=state.security.hash_password_sync("correct horse battery"),
        )
        s.add(planner)

    rng = random.Random(7)
    created: list[uuid.UUID] = []

    async def writer(n: int) -> None:
        for i in range(TXNS_PER_WRITER):
            for _attempt in range(20):  # a stale update (another writer got there first) is retried
                try:
                    new_id = await write_once(n, i)
                    break
                except StaleDataError:
                    await asyncio.sleep(rng.random() * 0.005)
            else:
                raise AssertionError("a writer kept losing the race")
            if new_id is not None:
                created.append(new_id)  # visible to the other writers only once committed
            await asyncio.sleep(rng.random() * 0.005)

    async def write_once(n: int, i: int) -> uuid.UUID | None:
        new_id = None
        async with open_session(maker, write=True) as s:
            if created and rng.random() < 0.4:
                h = await s.get(Household, rng.choice(created))
                assert h is not None
                h.living_situation = f"writer {n} txn {i}"
            else:
                h = Household(
                    district_code="11990", dong_code="1199051000", address=f"동시로 {n}-{i}", head_name=f"동시{n}-{i}"
                )
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
                s.add(VisitAssignee(visit_id=v.id, user_id=planner.id, organization_id=org.id))
                new_id = h.id
            await asyncio.sleep(rng.random() * 0.01)  # hold the transaction open a little
        return new_id

    polled: list[int] = []

    async def change_log_poller(stop: asyncio.Event) -> None:
        last = 0
        while True:
            done = stop.is_set()
            async with maker() as s:
                top = (await s.execute(select(ChangeCounter.value))).scalar_one()
                seqs = list(
                    (
                        await s.execute(
                            select(ChangeLog.seq)
                            .where(ChangeLog.seq > last, ChangeLog.seq <= top)
                            .order_by(ChangeLog.seq)
                        )
                    ).scalars()
                )
            polled.extend(seqs)
            last = top
            if done:
                return
            await asyncio.sleep(0.003)

    transport = httpx.ASGITransport(app=live_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        phones = []
        for d in range(DEVICES):
            r = await client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "conc-planner",
                    "password": "correct horse battery",
                    "device_id": f"conc-{d}",
                },
            )
            assert r.status_code == 200, r.text
            from tests.support.factories import Actor

            actor = Actor(user=planner, org=org, token=r.json()["access_token"], device_id=f"conc-{d}")
            phones.append(Phone(client, actor))

        received: list[dict[tuple[str, str, int], int]] = [{} for _ in phones]

        async def puller(i: int, stop: asyncio.Event) -> None:
            while not stop.is_set():
                for change in await phones[i].sync(limit=7):
                    if change["op"] == "upsert":
                        key = (change["entity"], change["id"], change["version"])
                        received[i][key] = received[i].get(key, 0) + 1
                await asyncio.sleep(rng.random() * 0.01)

        stop = asyncio.Event()
        background = [asyncio.create_task(puller(i, stop)) for i in range(DEVICES)]
        background.append(asyncio.create_task(change_log_poller(stop)))
        try:
            await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(WRITERS))), timeout=120)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*background), timeout=60)
        finally:
            stop.set()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

        async with maker() as s:
            truth_h = dict((await s.execute(select(Household.id, Household.version))).all())
            truth_v = dict((await s.execute(select(Visit.id, Visit.version))).all())
            top = (await s.execute(select(func.max(ChangeLog.seq)))).scalar_one()
        for i, phone in enumerate(phones):
            await phone.sync()
            for (entity, eid, version), times in received[i].items():
                assert times == 1, f"device {i} got {entity} {eid} v{version} {times} times"
            assert {uuid.UUID(e): r["version"] for (k, e), r in phone.store.items() if k == "household"} == truth_h
            assert {uuid.UUID(e): r["version"] for (k, e), r in phone.store.items() if k == "visit"} == truth_v

    assert polled == list(range(1, top + 1)), "the change-log poller missed or repeated a change"
    assert len(truth_h) == len(created)
