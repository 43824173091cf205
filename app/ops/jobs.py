"""Background job of operations, run by ``python -m app.worker``.

``sqlite-analyze``: on the embedded default (SQLite) refreshes the query planner's table statistics every hour,
bounded in time by ``analysis_limit`` (sqlite.org/lang_analyze.html#approx). SQLite keeps no statistics by
itself, and without them a large database picks the wrong index (a pull reading one visit's notes through the
visit index costs 221 ms at 100,000 records instead of 0.4 ms). PostgreSQL's autovacuum does this on its own.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.jobs import Job
from app.core.state import AppState

ANALYSIS_LIMIT = 400


async def analyze_sqlite(engine: AsyncEngine) -> bool:
    """One ``ANALYZE`` of the whole SQLite database; nothing on PostgreSQL. True when it ran."""
    if engine.dialect.name != "sqlite":
        return False
    async with engine.connect() as conn:
        await conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
    return True


async def _analyze(state: AppState) -> int:
    await analyze_sqlite(state.engine)
    return 0  # sleep the interval


JOBS = [Job(name="sqlite-analyze", run=_analyze, interval=3600.0)]
