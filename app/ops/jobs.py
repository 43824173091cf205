"""Background job of operations, run by ``python -m app.worker``.

``sqlite-analyze``: on the embedded default (SQLite) keeps the query planner's table statistics, bounded in time
by ``analysis_limit`` (sqlite.org/lang_analyze.html#approx). SQLite keeps no statistics by itself, and without
them a large database picks the wrong index (a pull reading one visit's notes through the visit index costs
221 ms at 100,000 records instead of 0.4 ms). Every minute it looks for tables that grew (their largest rowid,
one index step, against the row count of their statistics) and analyzes just those; once an hour, everything.
A district loaded in bulk, or a visit whose notes grow by the thousand, has fitting statistics within a minute,
for a few milliseconds of work. PostgreSQL's autovacuum does this on its own.
"""

from __future__ import annotations

import time

from sqlalchemy import func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.jobs import Job
from app.core.state import AppState

ANALYSIS_LIMIT = 400
#: A table is analyzed again once it holds this many times the rows its statistics counted …
GROWTH = 2.0
#: … and at least this many (below it, any plan is fast).
MIN_ROWS = 1000
#: Seconds between two analyses of the whole database.
FULL_EVERY = 3600.0
#: Seconds between two looks for tables that grew.
LOOK_EVERY = 60.0


async def analyze_sqlite(engine: AsyncEngine) -> bool:
    """One ``ANALYZE`` of the whole SQLite database; nothing on PostgreSQL. True when it ran."""
    if engine.dialect.name != "sqlite":
        return False
    async with engine.connect() as conn:
        await conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
    return True


async def _counted(conn: AsyncConnection) -> dict[str, int]:
    """The row count each table's statistics were made with (``sqlite_stat1``: the first number of a row)."""
    exists = await conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    if exists.first() is None:
        return {}
    counted: dict[str, int] = {}
    for tbl, stat in await conn.execute(text("SELECT tbl, stat FROM sqlite_stat1")):
        rows = int(str(stat).split()[0]) if stat else 0
        counted[tbl] = max(counted.get(tbl, 0), rows)
    return counted


async def grown_tables(conn: AsyncConnection) -> list[str]:
    """Tables holding at least :data:`MIN_ROWS` rows and :data:`GROWTH` times what their statistics counted
    (or with none): rows estimated by the largest rowid, one step down the table's b-tree."""
    counted = await _counted(conn)
    names = [
        name
        for (name,) in await conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE '%WITHOUT ROWID%'"
        )
    ]
    grown = []
    for name in names:
        rows = (await conn.execute(select(func.max(literal_column("rowid"))).select_from(table(name)))).scalar() or 0
        if rows >= MIN_ROWS and rows >= GROWTH * counted.get(name, 0):
            grown.append(name)
    return grown


async def analyze_grown(engine: AsyncEngine) -> list[str]:
    """``ANALYZE`` each table that grew (:func:`grown_tables`) on SQLite; which ones. Nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return []
    async with engine.connect() as conn:
        grown = await grown_tables(conn)
        if grown:
            await conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            for name in grown:
                await conn.exec_driver_sql('ANALYZE "' + name.replace('"', '""') + '"')
        await conn.commit()
    return grown


class _Rounds:
    def __init__(self) -> None:
        self.last_full: float | None = None

    async def __call__(self, state: AppState) -> int:
        engine = state.engine
        now = time.monotonic()
        if self.last_full is None or now - self.last_full >= FULL_EVERY:
            await analyze_sqlite(engine)
            self.last_full = now
        else:
            await analyze_grown(engine)
        return 0  # sleep the interval


JOBS = [Job(name="sqlite-analyze", run=_Rounds(), interval=LOOK_EVERY)]
