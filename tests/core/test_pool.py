"""PostgreSQL's pool (app/core/db.py ``_ping_when_idle``): a connection idle in the pool is pinged before it is handed
out and replaced if it is gone; a connection in steady use is not pinged (the empty pull phones poll with stays one
round trip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import app.core.db as db
from app.core.db import create_engine
from tests.conftest import make_settings
from tests.support.live import live_database

pytestmark = pytest.mark.postgres_only


async def _backend_pid(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(engine: Any, pid: int) -> None:
    """End backend ``pid`` from a connection of its own (as a server restart or a dropped network would)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})


@pytest.mark.parametrize("idle", [True, False])
async def test_a_dead_pooled_connection_is_replaced_when_it_was_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idle: bool
) -> None:
    async with live_database("postgres", tmp_path) as url:
        engine = create_engine(make_settings(url, tmp_path, database_pool_size=1))
        killer = create_engine(make_settings(url, tmp_path))
        pings: list[int] = []
        real_ping = engine.dialect.do_ping

        def counted(dbapi_connection: Any) -> bool:
            pings.append(1)
            return real_ping(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)
        try:
            pid = await _backend_pid(engine)  # the pool's one connection, now back in the pool
            for _ in range(3):  # in steady use: no ping
                assert await _backend_pid(engine) == pid
            assert pings == []
            await _terminate(killer, pid)
            monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0 if idle else 3600.0)
            if idle:  # pinged, found gone, replaced: the request never sees it
                assert await _backend_pid(engine) != pid
                assert pings == [1]
            else:  # handed out unpinged: the request fails, and the pool's next connection is a new one
                with pytest.raises(DBAPIError):  # the driver's disconnect, as SQLAlchemy wraps it
                    await _backend_pid(engine)
                assert await _backend_pid(engine) != pid
                assert pings == []
        finally:
            await engine.dispose()
            await killer.dispose()
