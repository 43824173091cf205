"""On SQLite a writer's statements run on the event loop's thread while it holds the write lock, and
everything else on aiosqlite's thread (app.core.sqlite_driver): asked of SQLite itself, through a function
that answers which thread runs it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.uow import begin_write, open_session
from app.migrate import upgrade
from tests.conftest import make_settings


@pytest.fixture
async def engine(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    own = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}", tmp_path, database_pool_size=1)
    engine = create_engine(own)

    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.create_function("thread_id", 0, threading.get_ident)

    await upgrade(engine)
    yield engine
    await engine.dispose()


async def _thread(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT thread_id()"))).scalar_one())


async def test_writer_runs_on_the_loop_thread_and_readers_do_not(engine) -> None:  # type: ignore[no-untyped-def]
    loop_thread = threading.get_ident()
    maker = create_sessionmaker(engine)
    async with open_session(maker, write=False) as s:
        assert await _thread(s) != loop_thread
    async with open_session(maker, write=True) as s:
        await begin_write(s)
        assert await _thread(s) == loop_thread
        await s.execute(text("CREATE TABLE scratch (n INTEGER)"))
        await s.execute(text("INSERT INTO scratch VALUES (1)"))
    # the pool holds one connection: the same one, after its commit, reads on aiosqlite's thread again
    async with open_session(maker, write=False) as s:
        assert await _thread(s) != loop_thread
        assert (await s.execute(text("SELECT count(*) FROM scratch"))).scalar_one() == 1


async def test_a_writer_that_fails_gives_the_thread_back(engine) -> None:  # type: ignore[no-untyped-def]
    loop_thread = threading.get_ident()
    maker = create_sessionmaker(engine)
    seen: list[int] = []

    async def failing_request() -> None:
        async with open_session(maker, write=True) as s:
            await begin_write(s)
            await s.execute(text("CREATE TABLE scratch (n INTEGER)"))
            seen.append(await _thread(s))
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await failing_request()
    assert seen == [loop_thread]
    async with open_session(maker, write=False) as s:
        assert await _thread(s) != loop_thread
        # rolled back: the table was never made
        assert (await s.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'scratch'"))).scalar_one() == 0


async def test_writers_of_two_engines_take_turns_and_a_cancelled_wait_leaves_no_lock(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    """Two engines on one file stand for two processes: the second writer waits for the first (on the
    file lock beside the database) and goes on when it commits; a writer cancelled while waiting leaves
    the lock free for the next."""
    import asyncio

    other = create_engine(make_settings(str(engine.url), Path(str(engine.url.database)).parent))
    first, second = create_sessionmaker(engine), create_sessionmaker(other)
    try:
        async with open_session(first, write=True) as a:
            await begin_write(a)
            await a.execute(text("CREATE TABLE turns (who TEXT)"))

            async def write(who: str) -> None:
                async with open_session(second, write=True) as b:
                    await begin_write(b)
                    await b.execute(text("INSERT INTO turns VALUES (:who)"), {"who": who})

            cancelled = asyncio.create_task(write("cancelled"))
            waiting = asyncio.create_task(write("second"))
            await asyncio.sleep(0.3)
            assert not cancelled.done()
            assert not waiting.done()
            cancelled.cancel()
            await asyncio.sleep(0.1)
            await a.execute(text("INSERT INTO turns VALUES ('first')"))
        await asyncio.wait_for(waiting, 10)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await asyncio.wait_for(write("third"), 10)  # nothing left holding the lock
        async with open_session(first, write=False) as s:
            assert [r[0] for r in await s.execute(text("SELECT who FROM turns ORDER BY rowid"))] == [
                "first",
                "second",
                "third",
            ]
    finally:
        await other.dispose()
