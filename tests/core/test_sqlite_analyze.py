"""The embedded default keeps the query planner's statistics (app.ops.jobs): SQLite keeps none by itself."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ops.jobs import JOBS, MIN_ROWS, analyze_grown, analyze_sqlite
from app.worker import discover_jobs


async def test_the_worker_runs_the_analyze_job() -> None:
    assert "sqlite-analyze" in {job.name for job in discover_jobs()}
    assert JOBS[0].idle_seconds(None) == 60.0  # type: ignore[arg-type]


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


async def test_a_table_that_grew_is_analyzed_within_the_minute(engine: AsyncEngine, db_kind: str) -> None:
    """A table that doubled since its statistics (or has none) and holds 1,000 rows or more is analyzed by the
    next look; one that did not grow is left alone."""
    if db_kind != "sqlite":
        assert await analyze_grown(engine) == []
        return
    async with engine.connect() as conn:
        await conn.exec_driver_sql("CREATE TABLE scratch_growth (id INTEGER PRIMARY KEY, tag TEXT)")
        await conn.exec_driver_sql("CREATE INDEX ix_scratch_growth_tag ON scratch_growth (tag)")
        await conn.commit()
    try:
        await analyze_sqlite(engine)  # statistics of everything as it stands (the scratch table empty)

        async def add(n: int) -> None:
            async with engine.connect() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO scratch_growth (tag) SELECT 'same' FROM"
                        " (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < :n)"
                        " SELECT i FROM c)"
                    ),
                    {"n": n},
                )
                await conn.commit()

        await add(MIN_ROWS // 2)
        assert "scratch_growth" not in await analyze_grown(engine)  # too small to matter
        await add(MIN_ROWS)
        assert "scratch_growth" in await analyze_grown(engine)
        async with engine.connect() as conn:
            stat_of = text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'scratch_growth' AND idx IS NOT NULL")
            stat = (await conn.execute(stat_of)).scalar_one()
        assert int(stat.split()[0]) >= MIN_ROWS
        assert "scratch_growth" not in await analyze_grown(engine)  # analyzed: not again until it doubles
    finally:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("DROP TABLE scratch_growth")
            await conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'scratch_growth'")
            await conn.commit()
