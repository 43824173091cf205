"""SQLAlchemy's aiosqlite dialect, with one thread round trip per statement instead of four.

aiosqlite runs every call on its own thread; SQLAlchemy's adapter makes four calls per statement (open a
cursor, execute, fetch, close), and each hand-over costs the event loop a wake-up and a GIL exchange. This
cursor does the four steps in one call on aiosqlite's thread and keeps the rows, the description, the row
count and the last row id, which is all SQLAlchemy reads from it. Everything else (connections,
transactions, isolation, errors) is the stock dialect's. Used for ``sqlite+aiosqlite`` URLs by
:func:`app.core.db.create_engine`; measured in scripts/bench.

Inside a write transaction (``BEGIN IMMEDIATE``, see :func:`app.core.uow.begin_write`) statements run on the
event loop's own thread instead. SQLite admits one writer at a time, so every other writer waits while the
writer holds the lock; handing each of its statements to another thread let the event loop run other
requests in between, and a write transaction of a few milliseconds held the lock for tens of them under
load (60 devices: the lock was held 90 % of the time). Taking the lock (``BEGIN IMMEDIATE``, which may wait
on another process) and ``COMMIT`` (which may checkpoint the WAL) still go through aiosqlite's thread.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "aiosqlite_onehop"


def _run_one(connection: Any, operation: str, parameters: Any, many: bool) -> tuple[Any, list[Any], int, Any]:
    """Runs on aiosqlite's thread: the whole life of a cursor."""
    conn: sqlite3.Connection = connection._conn
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no aiosqlite cursor: nothing to open here
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: Any = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        if self._adapt_connection._inline:  # type: ignore[attr-defined]
            description, rows, rowcount, lastrowid = _run_one(self._connection, operation, parameters, many)
            self._description, self._rowcount, self._lastrowid = description, rowcount, lastrowid
            self._rows = collections.deque(rows)
            return
        async with self._adapt_connection._execute_mutex:
            description, rows, rowcount, lastrowid = await self._connection._execute(
                _run_one, self._connection, operation, parameters, many
            )
        self._description, self._rowcount, self._lastrowid = description, rowcount, lastrowid
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._run(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._run(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_inline",)
    _cursor_cls = OneHopCursor

    def _idle(self) -> bool:
        """No transaction is open (read on this thread, as aiosqlite's ``in_transaction`` does)."""
        raw = self._connection._connection
        return raw is not None and not raw.in_transaction

    def run_inline(self) -> None:
        """Run statements on the calling thread until the transaction ends (a writer holding the lock)."""
        self._inline = True

    def rollback(self) -> None:
        # A connection that ran reads without BEGIN (app.core.db.AUTOCOMMIT_READ_OPTION) has nothing to roll
        # back: skip the round trip to aiosqlite's thread.
        self._inline = False
        if not self._idle():
            super().rollback()

    def commit(self) -> None:
        self._inline = False
        if not self._idle():
            super().commit()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        adapted = OneHopConnection(self, await_(connection))
        adapted._inline = False
        return adapted


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")


def fast_url(url: str) -> str:
    return (
        url.replace("sqlite+aiosqlite://", f"sqlite+{DRIVER}://", 1) if url.startswith("sqlite+aiosqlite://") else url
    )
