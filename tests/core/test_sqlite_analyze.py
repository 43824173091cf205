"""The embedded default keeps the query planner's statistics (app.ops.jobs): SQLite keeps none by itself."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ops.jobs import JOBS, analyze_sqlite
from app.worker import discover_jobs


async def test_the_worker_runs_the_analyze_job() -> None:
    assert "sqlite-analyze" in {job.name for job in discover_jobs()}
    assert JOBS[0].idle_seconds(None) == 3600.0  # type: ignore[arg-type]


async def test_analyze_writes_statistics_on_sqlite_and_nothing_on_postgres(engine: AsyncEngine, db_kind: str) -> None:
    ran = await analyze_sqlite(engine)
    if db_kind != "sqlite":
        assert ran is False
        return
    assert ran is True
    async with engine.connect() as conn:
        tables = set((await conn.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))).scalars())
    # the tables a pull reads have statistics (those with rows; the migrations seed templates and resources)
    assert tables, "ANALYZE left no statistics"
