"""The unit of work: one session, one transaction's bookkeeping, one commit (docs/architecture.md, "Unit of work").

* :func:`open_session` is the unit of work: it commits when its body finishes and rolls back on any error. No
  exception decides a commit; a failure that must leave a trace (the count of a failed login, the audit row of
  a denied read) calls :func:`keep_so_far` before it raises.
* What one transaction records about itself (change notes, outbox events, audit rows, the SQLite writer lock,
  the batch memo) lives in one typed :class:`Journal` under one ``session.info`` key: :func:`journal_of`.
* Hooks: the modules that fill the journal (``app.journal``) register what must happen at a flush, before the
  commit, after the unit of work has committed and after a rollback with :func:`register_hook`. This module
  calls them without knowing who they are. Nothing is registered at import time: ``create_app()``, the worker
  and the CLI call ``app.journal.install()``.
* SQLite: a request that writes takes the process' writer lock (FIFO; a ``flock`` between processes) before
  ``BEGIN IMMEDIATE``; :func:`begin_write` turns a read into a write; :func:`end_read` gives a read's
  connection back before slow work.
"""

from __future__ import annotations

import asyncio
import os
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.core.db import WRITE_OPTION

try:
    import fcntl
except ImportError:  # not POSIX: writers of other processes wait on SQLite's busy timeout
    fcntl = None  # type: ignore[assignment]

# --- the journal ---------------------------------------------------------------------------------------------

#: The one ``session.info`` key of the unit of work.
JOURNAL_KEY = "ongi_journal"

#: A change note: entity, entity id, version, op and the household / visit / case it hangs on.
ChangeNote = dict[str, Any]
#: What :meth:`Journal.mark` returns, for :meth:`Journal.restore` after a savepoint rolled back.
Mark = tuple[dict[tuple[str, uuid.UUID], ChangeNote], list[dict[str, Any]]]


@dataclass(eq=False)
class Journal:
    """What one transaction records about itself until it commits."""

    #: Whether the transaction was begun for writing; ``None`` for a session :func:`open_session` did not open
    #: (treated as writing by the audit, upgraded by :func:`begin_write`).
    write: bool | None = None
    #: The SQLite writer lock this session holds (released when the unit of work ends).
    lock: Any = None
    #: Changes of synced records, by (entity, id), latest last; numbered at commit (``app.journal.changes``).
    changes: dict[tuple[str, uuid.UUID], ChangeNote] = field(default_factory=dict)
    #: Outbox events queued by ``app.journal.outbox.emit``, numbered at commit after the changes.
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Audit rows of a read, written right after it in a short write transaction (``app.journal.audit``).
    audit_deferred: list[dict[str, Any]] = field(default_factory=list)
    #: When not ``None``, audit rows collect here until the batch is flushed (a sync push, a bulk import).
    audit_batch: list[dict[str, Any]] | None = None
    #: The memo of a batch for one caller (``app.access``), when one is on.
    memo: dict[Any, Any] | None = None
    #: Households whose field stamps are all loaded in this session, so a missing one is new
    #: (``app.households.sync``).
    stamps_loaded: set[uuid.UUID] = field(default_factory=set)

    def mark(self) -> Mark:
        """A copy of the pending change notes and events, to restore when a savepoint is rolled back."""
        return dict(self.changes), list(self.events)

    def restore(self, mark: Mark) -> None:
        self.changes = dict(mark[0])
        self.events = list(mark[1])

    def take_pending(self) -> tuple[dict[tuple[str, uuid.UUID], ChangeNote], list[dict[str, Any]]]:
        """The pending change notes and events, handed over (the journal keeps none)."""
        changes, events = self.changes, self.events
        self.changes, self.events = {}, []
        return changes, events


def journal_of(session: AsyncSession | Session) -> Journal:
    """The session's journal (created on first use)."""
    info = session.info
    journal: Journal | None = info.get(JOURNAL_KEY)
    if journal is None:
        journal = info[JOURNAL_KEY] = Journal()
    return journal


# --- hooks ---------------------------------------------------------------------------------------------------

#: A flush or rollback hook: called as SQLAlchemy calls a ``Session`` listener of that event (``before_flush``:
#: session, flush context, instances; ``after_flush``: session, flush context; ``after_rollback``: session).
SessionHook = Callable[..., None]
#: A commit hook: awaited with the unit of work's session.
CommitHook = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class Hooks:
    #: Before the ORM flushes (may change or add objects).
    before_flush: list[SessionHook] = field(default_factory=list)
    #: After the ORM flushed (sees ``session.new``, ``dirty``, ``deleted``; may write through the connection).
    after_flush: list[SessionHook] = field(default_factory=list)
    #: Right before every commit (the last writes of the transaction, such as numbering its changes).
    before_commit: list[CommitHook] = field(default_factory=list)
    #: Once the unit of work has committed (:func:`open_session`'s end, :func:`keep_so_far`); may write again,
    #: in a short transaction of its own. Not run by the commit of :func:`begin_write`.
    after_commit: list[CommitHook] = field(default_factory=list)
    #: After the database transaction rolled back (forget what was pending).
    after_rollback: list[SessionHook] = field(default_factory=list)


_hooks = Hooks()
_listening = False


def register_hook(
    *,
    before_flush: SessionHook | None = None,
    after_flush: SessionHook | None = None,
    before_commit: CommitHook | None = None,
    after_commit: CommitHook | None = None,
    after_rollback: SessionHook | None = None,
) -> None:
    """Register hooks of the unit of work; they run in the order registered. Registering the same function
    again does nothing (``create_app()`` runs once per test)."""
    for kind, hook in (
        ("before_flush", before_flush),
        ("after_flush", after_flush),
        ("before_commit", before_commit),
        ("after_commit", after_commit),
        ("after_rollback", after_rollback),
    ):
        hooks: list[Any] = getattr(_hooks, kind)
        if hook is not None and hook not in hooks:
            hooks.append(hook)
    _listen()


def registered_hooks() -> Hooks:
    """What is registered (for tests and the docs)."""
    return _hooks


def _before_flush(session: Session, ctx: Any, instances: Any) -> None:
    for hook in _hooks.before_flush:
        hook(session, ctx, instances)


def _after_flush(session: Session, ctx: Any) -> None:
    for hook in _hooks.after_flush:
        hook(session, ctx)


def _after_rollback(session: Session) -> None:
    for hook in _hooks.after_rollback:
        hook(session)


def _listen() -> None:
    """The three process-wide ``Session`` listeners, installed once, by the first :func:`register_hook`."""
    global _listening
    if _listening:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_rollback", _after_rollback)
    _listening = True


# --- SQLite's one writer -------------------------------------------------------------------------------------


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
    bind: Any = session.bind
    engine = getattr(bind, "engine", bind)
    sync_engine = getattr(engine, "sync_engine", engine)
    return sync_engine if getattr(sync_engine.dialect, "name", "") == "sqlite" else None


async def _take_write_lock(session: AsyncSession) -> None:
    engine = _sqlite_engine(session)
    journal = journal_of(session)
    if engine is None or journal.lock is not None:
        return
    lock = _write_locks.get(engine)
    if lock is None:
        lock = _write_locks[engine] = _WriterLock(engine.url.database)
        weakref.finalize(engine, lock.close)
    await lock.acquire()
    journal.lock = lock


def _release_write_lock(session: AsyncSession) -> None:
    journal = journal_of(session)
    lock, journal.lock = journal.lock, None
    if lock is not None:
        lock.release()


# --- the unit of work ----------------------------------------------------------------------------------------


def is_writing(session: AsyncSession) -> bool:
    """Whether the session's transaction writes (a session :func:`open_session` did not open counts as one)."""
    return journal_of(session).write is not False


async def end_read(session: AsyncSession) -> None:
    """End the current read transaction and give its connection back to the pool (before slow work
    that needs no database, such as hashing a password)."""
    if not journal_of(session).write:
        await session.commit()


async def commit(session: AsyncSession) -> None:
    """Commit, first running the ``before_commit`` hooks (numbering the changes of synced records)."""
    for hook in _hooks.before_commit:
        await hook(session)
    await session.commit()


async def begin_write(session: AsyncSession) -> None:
    """Turn a read transaction into a write transaction before writing.

    SQLite refuses to upgrade a read transaction once another writer committed meanwhile (it answers
    SQLITE_BUSY_SNAPSHOT at once, without waiting), so a request that began reading ends that read
    transaction and begins ``BEGIN IMMEDIATE``, which queues behind other writers. What was read before
    must be read again if it matters. On PostgreSQL this only marks the session.
    """
    journal = journal_of(session)
    if journal.write:
        return
    journal.write = True
    if _sqlite_engine(session) is not None:
        await commit(session)
        await _take_write_lock(session)
        await session.connection(execution_options={WRITE_OPTION: True})


async def _after_commit(session: AsyncSession) -> None:
    for hook in _hooks.after_commit:
        await hook(session)


async def keep_so_far(session: AsyncSession) -> None:
    """Commit what the unit of work wrote so far, with its ``after_commit`` hooks, for a failure that must
    still leave its trace (the count of a failed login, the audit row of a denied read): call it, then raise.
    What the request writes afterwards is rolled back with the error."""
    await commit(session)
    await _after_commit(session)


@asynccontextmanager
async def open_session(maker: async_sessionmaker[AsyncSession], *, write: bool) -> AsyncIterator[AsyncSession]:
    """A unit of work: commits when the body finishes, rolls back on any error.

    A read (``write=False``) that records audit events gets them written right after the read, in a short
    write transaction, before the caller answers (an ``after_commit`` hook of ``app.journal.audit``).
    """
    async with maker() as session:
        journal_of(session).write = write
        try:
            if write:
                await _take_write_lock(session)
                await session.connection(execution_options={WRITE_OPTION: True})
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await commit(session)
            await _after_commit(session)
        finally:
            _release_write_lock(session)
