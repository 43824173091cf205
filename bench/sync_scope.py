"""The scope curve (issue 20, docs/performance.md#budget): one device holding 1k, 10k, 100k records.

``python -m bench.sync_scope [--db sqlite|postgres] [--sizes 1000,10000,100000] [--reps 20]``

For each size, a fresh database (SQLite file, or a PostgreSQL database made and dropped on the server that
``ONGI_BENCH_POSTGRES_URL`` names) holds one planner with one visit and ``size - 2`` notes on it. The app is
called in-process through httpx (no network: the figures are the server's own work). Measured per size:

* ``first``: the first full sync in pages of 1,000 (``--page``; seconds, once);
  also ``page_first3``/``page_last3`` (median ms of the first and last three pages) and ``page_max``;
  ``BENCH_PAGES=1`` prints every page's time as it comes; ``BENCH_STATEMENTS=1`` the slowest statements of
  ``pull10`` (``=full``: their whole text);
* ``empty``: a pull with nothing new (median ms; the fast path answers it);
* ``sift``: a pull after another worker changed 10 records the device does not hold (median ms);
* ``pull10``: a pull after a teammate edited 10 notes the device holds (median ms);
* ``push10``: a push of 10 new notes (median ms).

The last four are measured a minute after the first sync, as it were: the tables that grew have statistics, given
on SQLite by the worker's ``sqlite-analyze`` look (:func:`app.ops.jobs.analyze_grown`) and on PostgreSQL by
autovacuum's ANALYZE (``--stats none``: the planner without them, as in the first minute after a table grew from
nothing: both planners then read a device's holdings of one entity whole to pick ten of them).

Printed as a table and as ratios to the smallest size (flat: within 20 %).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._support import StatementTimer, pg_admin  # noqa: E402


async def fresh_statistics(engine: Any) -> None:
    """Statistics of the tables that grew, as they stand a minute later: SQLite's from the worker's look
    (:func:`app.ops.jobs.analyze_grown`), PostgreSQL's from autovacuum's ANALYZE."""
    from app.ops.jobs import analyze_grown

    if engine.dialect.name == "sqlite":
        await analyze_grown(engine)
        return
    async with engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()


async def seed_notes(maker: Any, visit: Any, author: Any, n: int) -> list[uuid.UUID]:
    """``n`` notes on ``visit``, written through the ORM (so their changes are logged) in chunks."""
    from app.core.uow import commit
    from app.notes.models import Note, NoteKind

    ids = []
    for start in range(0, n, 5000):
        async with maker() as s:
            notes = [
                Note(
                    visit_id=visit.id,
                    household_id=visit.household_id,
                    author_id=author.id,
                    author_organization_id=author.organization_id,
                    body=f"기록 {i}",
                    kind=NoteKind.observation,
                    internal=False,
                )
                for i in range(start, min(n, start + 5000))
            ]
            s.add_all(notes)
            await s.flush()
            await commit(s)
            ids += [note.id for note in notes]
    return ids


async def one_size(db: str, size: int, reps: int, page: int = 1000, stats: str = "fresh") -> dict[str, float]:
    import httpx

    from app.core.principal import Role
    from app.main import create_app
    from app.migrate import upgrade
    from tests.conftest import make_settings
    from tests.support.factories import Factory, make_household, make_visit

    tmp = Path(tempfile.mkdtemp(prefix="ongi-bench-scope-"))
    pg_name = None
    if db == "postgres":
        from sqlalchemy.engine import make_url

        admin = os.environ["ONGI_BENCH_POSTGRES_URL"]
        pg_name = f"ongi_bench_{uuid.uuid4().hex[:10]}"
        await pg_admin(admin, f'CREATE DATABASE "{pg_name}"')
        url = make_url(admin).set(database=pg_name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'ongi.db'}"
    settings = make_settings(url, tmp / "data", database_pool_size=5)
    app = create_app(settings)
    state = app.state.ongi
    await upgrade(state.engine)
    out: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            f = Factory(state, state.sessionmaker, c)
            org = await f.org()
            me = await f.user(Role.planner, org)
            mate = await f.user(Role.planner, org)
            other = await f.user(Role.planner, org)
            home = await make_household(f)
            visit = await make_visit(f, home, [me, mate])
            elsewhere = await make_visit(f, await make_household(f), [other])
            ids = await seed_notes(state.sessionmaker, visit, me, size - 2)
            other_ids = await seed_notes(state.sessionmaker, elsewhere, other, 10)
            phone = await f.login(me)
            mate_phone = await f.login(mate)
            other_phone = await f.login(other)
            h = phone.headers

            t = time.perf_counter()
            cursor, held, pages = None, 0, []
            while True:
                params: dict[str, Any] = {"limit": page, **({"cursor": cursor} if cursor else {})}
                t_page = time.perf_counter()
                r = await c.get("/v1/sync/pull", params=params, headers=h)
                assert r.status_code == 200, r.text
                pages.append((time.perf_counter() - t_page) * 1000)
                if os.environ.get("BENCH_PAGES"):
                    print(f"page {len(pages)}: {pages[-1]:.0f} ms", flush=True)
                body = r.json()
                held += len(body["changes"])
                cursor = body["cursor"]
                if not body["has_more"]:
                    break
            out["first"] = time.perf_counter() - t
            # whether a page costs its own size: the median of the first and of the last three pages (ms)
            out["page_first3"] = statistics.median(pages[:3])
            out["page_last3"] = statistics.median(pages[-3:])
            out["page_max"] = max(pages)
            assert held == size, (held, size)
            r = await c.get("/v1/sync/pull", params={"cursor": cursor}, headers=h)  # settle the last batch
            cursor = r.json()["cursor"]
            if stats == "fresh":  # a minute later: what grew has statistics (SQLite: the worker's look; PostgreSQL:
                # autovacuum's ANALYZE, due once a tenth of a table changed, within autovacuum_naptime)
                await fresh_statistics(state.engine)

            async def timed_pull() -> float:
                nonlocal cursor
                t = time.perf_counter()
                r = await c.get("/v1/sync/pull", params={"cursor": cursor}, headers=h)
                took = time.perf_counter() - t
                assert r.status_code == 200, r.text
                cursor = r.json()["cursor"]
                return took

            async def push(actor: Any, muts: list[dict[str, Any]]) -> float:
                t = time.perf_counter()
                r = await c.post(
                    "/v1/sync/push",
                    headers=actor.headers,
                    json={
                        "device_id": actor.extra["device"],
                        "device_time": datetime.now(UTC).isoformat(),
                        "mutations": muts,
                    },
                )
                took = time.perf_counter() - t
                assert r.status_code == 200, r.text
                assert all(x["status"] == "applied" for x in r.json()["results"]), r.text
                return took

            def note_mut(nid: uuid.UUID | str, body: str, **extra: Any) -> dict[str, Any]:
                return {
                    "mutation_id": str(uuid.uuid4()),
                    "entity": "note",
                    "op": "upsert",
                    "id": str(nid),
                    "data": {"body": body, **extra},
                }

            full = os.environ.get("BENCH_STATEMENTS")  # time each statement of pull10 (=full: whole texts)
            timer = StatementTimer(state.engine, None if full == "full" else 160) if full else None

            empty, sift, pull10, push10 = [], [], [], []
            by_statement: dict[str, list[float]] = {}
            for k in range(reps):
                empty.append(await timed_pull())
                muts = [note_mut(other_ids[i], f"남의 기록 {k}-{i}") for i in range(10)]
                await push(other_phone, muts)
                sift.append(await timed_pull())
                # a teammate edits 10 notes this device holds (notes are edited by their author: the planner's
                # own other device would be the author; the teammate writes new ones on the shared visit)
                muts = [
                    note_mut(uuid.uuid4(), f"동료 기록 {k}-{i}", visit_id=str(visit.id), kind="observation")
                    for i in range(10)
                ]
                await push(mate_phone, muts)
                if timer:
                    timer.take()  # what came before this pull
                took = await timed_pull()
                pull10.append(took)
                for key, times in (timer.take() if timer else {}).items():
                    by_statement.setdefault(key, []).append(sum(times))
                muts = [
                    note_mut(uuid.uuid4(), f"내 기록 {k}-{i}", visit_id=str(visit.id), kind="observation")
                    for i in range(10)
                ]
                push10.append(await push(phone, muts))
                await timed_pull()  # take one's own pushes back, so the next empty pull is empty
                await timed_pull()
            if timer:
                timer.close()
            if by_statement:
                print(f"pull10 at {size}: median ms per statement (per pull), the slowest first", flush=True)
                ranked = sorted(by_statement.items(), key=lambda kv: -statistics.median(kv[1]))
                for key, times in ranked[:12]:
                    print(f"  {statistics.median(times):8.2f}  {key}", flush=True)
            out["empty"] = statistics.median(empty) * 1000
            out["sift"] = statistics.median(sift) * 1000
            out["pull10"] = statistics.median(pull10) * 1000
            out["push10"] = statistics.median(push10) * 1000
            assert len(ids) == size - 2
    finally:
        await state.engine.dispose()
        if pg_name:
            await pg_admin(os.environ["ONGI_BENCH_POSTGRES_URL"], f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return out


def table(db: str, results: dict[int, dict[str, float]]) -> str:
    sizes = sorted(results)
    base = results[sizes[0]]
    cols = ["first", "empty", "sift", "pull10", "push10"]
    units = {"first": "s", "empty": "ms", "sift": "ms", "pull10": "ms", "push10": "ms"}
    lines = [f"scope curve ({db}): one device holding N records", "| N | " + " | ".join(cols) + " |"]
    lines.append("| --- " * (len(cols) + 1) + "|")
    for size in sizes:
        cells = []
        for col in cols:
            v = results[size][col]
            ratio = v / base[col] if base[col] else float("nan")
            cells.append(
                f"{v:.3f} {units[col]} ({ratio:.2f}×)" if col == "first" else f"{v:.1f} {units[col]} ({ratio:.2f}×)"
            )
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--page", type=int, default=1000, help="the first sync's page size")
    ap.add_argument(
        "--stats",
        choices=["fresh", "none"],
        default="fresh",
        help="after the first sync, statistics of what grew, as the worker (SQLite) or autovacuum (PostgreSQL) "
        "keep them a minute later (fresh), or none",
    )
    args = ap.parse_args()
    os.environ.setdefault("ONGI_LOG_LEVEL", "WARNING")
    results = {}
    for size in [int(x) for x in args.sizes.split(",")]:
        results[size] = await one_size(args.db, size, args.reps, args.page, args.stats)
        print(size, {k: round(v, 4) for k, v in results[size].items()}, flush=True)
    print(table(args.db, results))


if __name__ == "__main__":
    asyncio.run(main())
