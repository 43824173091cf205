"""Database engine, base model and the one-session-per-request unit of work.

* SQLite (aiosqlite) is the embedded default: WAL, foreign keys on, ``BEGIN IMMEDIATE`` for requests that
  write (so two writers queue on the busy timeout instead of failing on a lock upgrade), plain ``BEGIN``
  for reads.
* PostgreSQL (asyncpg) when ``ONGI_DATABASE_URL`` names it.

Every table derives from :class:`BaseTable`: a UUID id, ``version`` (SQLAlchemy's version counter, so an
update of a stale row fails instead of overwriting), ``created_at`` and ``updated_at`` in UTC.
"""

from __future__ import annotations

import asyncio
import os
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, DateTime, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import declared_attr
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from app.core.config import Settings

try:
    import fcntl
except ImportError:  # not POSIX: writers of other processes wait on SQLite's busy timeout
    fcntl = None  # type: ignore[assignment]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

#: Execution option that marks a transaction as one that will write (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "ongi_write"
#: Execution option for a connection that runs single reading statements, each its own snapshot: no
#: BEGIN/COMMIT round trips (SQLite; on PostgreSQL use the AUTOCOMMIT isolation level).
AUTOCOMMIT_READ_OPTION = "ongi_autocommit_read"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum: type[Any], length: int = 32) -> sa.Enum:
    """An enum stored as VARCHAR (no database enum type to migrate when a value is added)."""
    return sa.Enum(
        enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e], validate_strings=True
    )


#: JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class BaseTable(SQLModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, sa_column_kwargs={"onupdate": utcnow}
    )

    @declared_attr  # type: ignore[arg-type]
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit transactions defeat savepoints and IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=15000",
            "PRAGMA cache_size=-32000",
            "PRAGMA temp_store=MEMORY",
            # what is deleted or overwritten is zeroed in the file, not left in free pages (DESIGN §3.6)
            "PRAGMA secure_delete=ON",
            # table statistics for the planner, bounded in time (sqlite.org/lang_analyze.html#approx): without
            # them a large database picks the wrong index for a pull (one visit's notes read via the visit index)
            "PRAGMA analysis_limit=400",
            "PRAGMA optimize=0x10002",
        ):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(AUTOCOMMIT_READ_OPTION):
            return
        immediate = options.get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        if immediate:  # the writer's statements no longer yield to other requests (app.core.sqlite_driver)
            run_inline = getattr(conn.connection.dbapi_connection, "run_inline", None)
            if run_inline is not None:
                run_inline()


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine. No connection is opened until the first query."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        from app.core.sqlite_driver import fast_url

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            fast_url(url),
            echo=settings.database_echo,
            hide_parameters=True,  # a failed statement's error never carries the values (personal data)
            # a writer's statements run on the event loop's thread, the others on aiosqlite's (one at a time)
            connect_args={"timeout": 15, "check_same_thread": False},
            pool_size=settings.database_pool_size,
            max_overflow=5,
            # Every session ends its transaction itself (commit or rollback) and closing a connection rolls
            # back what is left: the pool's extra reset would cost a round trip to SQLite's thread per request.
            pool_reset_on_return=None,
        )
        _sqlite_setup(engine)
        return engine
    return create_async_engine(
        url,
        echo=settings.database_echo,
        hide_parameters=True,
        pool_size=settings.database_pool_size,
        max_overflow=10,
        pool_pre_ping=True,
    )


def create_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


#: session.info keys: whether the transaction was begun for writing; audit rows deferred by a read.
WRITE_KEY = "ongi_write"
DEFERRED_AUDIT_KEY = "ongi_deferred_audit"
_LOCK_HELD_KEY = "ongi_write_lock_held"


class _WriterLock:
    """SQLite admits one writer at a time. The writers of this process queue on an asyncio lock (FIFO, taken
    before a pooled connection is checked out), which replaces SQLite's busy-wait polling that starves under
    load. Between processes sharing the database file (uvicorn workers, the worker process) the holder also
    takes an exclusive ``flock`` on a file beside it, so a writer of another process waits in a thread, woken
    when the lock is free, instead of polling on SQLite's busy timeout."""

    def __init__(self, database: str | None) -> None:
        self.local = asyncio.Lock()
        self.fd: int | None = None
        if fcntl is not None and database and database != ":memory:" and not database.startswith("file:"):
            self.fd = os.open(f"{database}.writer", os.O_RDWR | os.O_CREAT, 0o600)

    async def acquire(self) -> None:
        await self.local.acquire()
        if self.fd is None:
            return
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self.fd, fcntl.LOCK_EX))
        try:
            await asyncio.shield(waiting)
        except BaseException:
            # cancelled while another process writes: let go of the file lock once the thread has it
            waiting.add_done_callback(lambda f: self.release() if f.exception() is None else self.local.release())
            raise

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.local.release()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


_write_locks: weakref.WeakKeyDictionary[Any, _WriterLock] = weakref.WeakKeyDictionary()


def _sqlite_engine(session: AsyncSession) -> Any | None:
    bind = session.bind
    engine = getattr(bind, "engine", bind)
    sync_engine = getattr(engine, "sync_engine", engine)
    return sync_engine if getattr(sync_engine.dialect, "name", "") == "sqlite" else None


async def _take_write_lock(session: AsyncSession) -> None:
    engine = _sqlite_engine(session)
    if engine is None or session.info.get(_LOCK_HELD_KEY):
        return
    lock = _write_locks.get(engine)
    if lock is None:
        lock = _write_locks[engine] = _WriterLock(engine.url.database)
        weakref.finalize(engine, lock.close)
    await lock.acquire()
    session.info[_LOCK_HELD_KEY] = lock


def _release_write_lock(session: AsyncSession) -> None:
    lock = session.info.pop(_LOCK_HELD_KEY, None)
    if lock is not None:
        lock.release()


async def end_read(session: AsyncSession) -> None:
    """End the current read transaction and give its connection back to the pool (before slow work
    that needs no database, such as hashing a password)."""
    if not session.info.get(WRITE_KEY):
        await session.commit()


async def commit(session: AsyncSession) -> None:
    """Commit, first numbering the changes of synced records (see ``app.core.changes``)."""
    from app.core.changes import number_changes

    await number_changes(session)
    await session.commit()


async def begin_write(session: AsyncSession) -> None:
    """Turn a read transaction into a write transaction before writing.

    SQLite refuses to upgrade a read transaction once another writer committed meanwhile (it answers
    SQLITE_BUSY_SNAPSHOT at once, without waiting), so a request that began reading ends that read
    transaction and begins ``BEGIN IMMEDIATE``, which queues behind other writers. What was read before
    must be read again if it matters. On PostgreSQL this only marks the session.
    """
    if session.info.get(WRITE_KEY):
        return
    session.info[WRITE_KEY] = True
    if _sqlite_engine(session) is not None:
        await commit(session)
        await _take_write_lock(session)
        await session.connection(execution_options={WRITE_OPTION: True})


async def _flush_deferred_audit(session: AsyncSession) -> None:
    rows = session.info.pop(DEFERRED_AUDIT_KEY, None)
    if not rows:
        return
    from sqlalchemy import insert

    from app.audit.models import AuditEvent

    await begin_write(session)
    await session.execute(insert(AuditEvent.__table__), rows)
    await commit(session)


@asynccontextmanager
async def open_session(maker: async_sessionmaker[AsyncSession], *, write: bool) -> AsyncIterator[AsyncSession]:
    """A unit of work: commits when the body finishes, rolls back on error.

    A read (``write=False``) that records audit events gets them written right after the read, in a short
    write transaction, before the caller answers. A :class:`~app.core.errors.Problem` raised with
    ``commit=True`` (a failed login that must still count) commits what was written before it.
    """
    from app.core.errors import Problem

    async with maker() as session:
        session.info[WRITE_KEY] = write
        try:
            if write:
                await _take_write_lock(session)
                await session.connection(execution_options={WRITE_OPTION: True})
            yield session
        except Problem as exc:
            if exc.commit:
                await commit(session)
                await _flush_deferred_audit(session)
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await commit(session)
            await _flush_deferred_audit(session)
        finally:
            _release_write_lock(session)
