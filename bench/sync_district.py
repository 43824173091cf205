"""The district curve (issue 20, docs/performance.md#budget): a worker's sync in a district of 3k, 30k, 300k households.

``python -m bench.sync_district [--db sqlite|postgres] [--sizes 3000,30000,300000] [--reps 10]``

For each size, a fresh database (as :mod:`bench.sync_scope`) holds ``size`` households with a note each
(others' work) and one planner whose scope does not grow with the district: 150 visits, each to a household
of its own with 3 notes. Measured: the worker's first sync (pages of 500, seconds), an empty pull, a pull
after another worker changed 10 notes elsewhere in the district (sifted), a pull after a teammate wrote 10
notes on the worker's visits, and a push of 10 notes (median ms). Flat means within 20 % of the smallest.
The district is loaded in bulk and then, with ``--stats fresh`` (the default), given the statistics the worker
(SQLite) or autovacuum (PostgreSQL) keeps: it was there long before this worker's first sync.
``BENCH_STATEMENTS=1`` prints the first sync's slowest statements (summed over its pages).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._support import StatementTimer, pg_admin
from bench.sync_scope import fresh_statistics

SCOPE_VISITS = 150


async def _bulk(maker: Any, model: Any, objects: list[Any]) -> None:
    """Insert model instances in chunks with Core (filler data: no change notes, as if long synced)."""
    from sqlalchemy import insert

    table = model.__table__
    rows = [{c.key: getattr(o, c.key) for c in table.columns} for o in objects]
    for start in range(0, len(rows), 5000):
        async with maker() as s:
            await s.execute(insert(table), rows[start : start + 5000])
            await s.commit()


async def one_size(db: str, size: int, reps: int, stats: str = "fresh") -> dict[str, float]:
    import httpx

    from app.core.db import utcnow
    from app.core.principal import Role
    from app.core.uow import commit
    from app.households.models import Household
    from app.main import create_app
    from app.migrate import upgrade
    from app.notes.models import Note, NoteKind
    from app.visits.models import Visit, VisitAssignee
    from tests.conftest import make_settings
    from tests.support.factories import Factory

    tmp = Path(tempfile.mkdtemp(prefix="ongi-bench-district-"))
    pg_name = None
    if db == "postgres":
        from sqlalchemy.engine import make_url

        admin = os.environ["ONGI_BENCH_POSTGRES_URL"]
        pg_name = f"ongi_bench_{uuid.uuid4().hex[:10]}"
        await pg_admin(admin, f'CREATE DATABASE "{pg_name}"')
        url = make_url(admin).set(database=pg_name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'ongi.db'}"
    app = create_app(make_settings(url, tmp / "data", database_pool_size=5))
    state = app.state.ongi
    await upgrade(state.engine)
    maker = state.sessionmaker
    out: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            f = Factory(state, maker, c)
            org = await f.org(jurisdiction=["11990"])
            me = await f.user(Role.planner, org)
            mate = await f.user(Role.planner, org)
            other = await f.user(Role.planner, org)

            def household(n: int) -> Household:
                return Household(
                    district_code="11990",
                    dong_code=f"11990{510 + n % 12:03d}00",
                    address=f"온기구 온기로 {n}길",
                    head_name=f"김온기{n}",
                    members=[],
                    tags=["elderly"],
                )

            filler = [household(n) for n in range(size)]
            await _bulk(maker, Household, filler)
            notes = [
                Note(
                    household_id=h.id,
                    author_id=other.id,
                    author_organization_id=org.id,
                    body="남의 기록",
                    kind=NoteKind.observation,
                )
                for h in filler
            ]
            await _bulk(maker, Note, notes)
            # the worker's scope, written through the ORM (its changes are logged, as in use)
            now = utcnow()
            async with maker() as s:
                homes = [household(size + n) for n in range(SCOPE_VISITS)]
                s.add_all(homes)
                await s.flush()
                visits = [
                    Visit(
                        household_id=h.id,
                        dong_code=h.dong_code,
                        purpose="assessment",
                        window_start=now - timedelta(hours=1),
                        window_end=now + timedelta(days=2),
                    )
                    for h in homes
                ]
                s.add_all(visits)
                await s.flush()
                s.add_all(
                    VisitAssignee(visit_id=v.id, user_id=u.id, organization_id=org.id, lead=u is me)
                    for v in visits
                    for u in (me, mate)
                )
                s.add_all(
                    Note(
                        visit_id=v.id,
                        household_id=v.household_id,
                        author_id=me.id,
                        author_organization_id=org.id,
                        body=f"기록 {k}",
                        kind=NoteKind.observation,
                    )
                    for v in visits
                    for k in range(3)
                )
                await s.flush()
                await commit(s)
            phone, mate_phone, other_phone = await f.login(me), await f.login(mate), await f.login(other)
            h = phone.headers
            if stats == "fresh":  # the district was there long before this worker's first sync
                await fresh_statistics(state.engine)

            # BENCH_STATEMENTS=1: each statement of the first sync, summed over its pages
            timer = StatementTimer(state.engine) if os.environ.get("BENCH_STATEMENTS") else None
            t = time.perf_counter()
            cursor, held = None, 0
            while True:
                r = await c.get(
                    "/v1/sync/pull", params={"limit": 500, **({"cursor": cursor} if cursor else {})}, headers=h
                )
                assert r.status_code == 200, r.text
                body = r.json()
                held += len(body["changes"])
                cursor = body["cursor"]
                if not body["has_more"]:
                    break
            out["first"] = time.perf_counter() - t
            if timer:
                spent = timer.take()
                timer.close()
                print(f"first sync at {size}: ms per statement (summed over its pages), the slowest first", flush=True)
                for key, times in sorted(spent.items(), key=lambda kv: -sum(kv[1]))[:10]:
                    print(f"  {sum(times):8.1f} ({len(times)}x)  {key}", flush=True)
            out["held"] = held
            r = await c.get("/v1/sync/pull", params={"cursor": cursor}, headers=h)
            cursor = r.json()["cursor"]

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

            def note(nid: Any, body: str, **extra: Any) -> dict[str, Any]:
                data = {"body": body, **{k: str(v) for k, v in extra.items()}}
                return {
                    "mutation_id": str(uuid.uuid4()),
                    "entity": "note",
                    "op": "upsert",
                    "id": str(nid),
                    "data": data,
                }

            empty, sift, pull10, push10 = [], [], [], []
            for k in range(reps):
                empty.append(await timed_pull())
                await push(other_phone, [note(notes[(k * 10 + i) % size].id, f"고침 {k}-{i}") for i in range(10)])
                sift.append(await timed_pull())
                muts = [
                    note(uuid.uuid4(), f"동료 {k}-{i}", visit_id=visits[(k * 10 + i) % SCOPE_VISITS].id)
                    for i in range(10)
                ]
                await push(mate_phone, muts)
                pull10.append(await timed_pull())
                muts = [
                    note(uuid.uuid4(), f"내 {k}-{i}", visit_id=visits[(k * 10 + i) % SCOPE_VISITS].id)
                    for i in range(10)
                ]
                push10.append(await push(phone, muts))
                await timed_pull()
                await timed_pull()
            out |= {
                "empty": statistics.median(empty) * 1000,
                "sift": statistics.median(sift) * 1000,
                "pull10": statistics.median(pull10) * 1000,
                "push10": statistics.median(push10) * 1000,
            }
    finally:
        await state.engine.dispose()
        if pg_name:
            await pg_admin(os.environ["ONGI_BENCH_POSTGRES_URL"], f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return out


def table(db: str, results: dict[int, dict[str, float]]) -> str:
    sizes = sorted(results)
    base = results[sizes[0]]
    cols = ["first", "empty", "sift", "pull10", "push10"]
    lines = [
        f"district curve ({db}): a worker holding {int(base['held'])} records in a district of N households",
        "| N | " + " | ".join(cols) + " |",
        "| --- " * (len(cols) + 1) + "|",
    ]
    for size in sizes:
        cells = []
        for col in cols:
            v, unit = results[size][col], "s" if col == "first" else "ms"
            cells.append(
                f"{v:.3f} {unit} ({v / base[col]:.2f}×)" if col == "first" else f"{v:.1f} {unit} ({v / base[col]:.2f}×)"
            )
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--sizes", default="3000,30000,300000")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument(
        "--stats",
        choices=["fresh", "none"],
        default="fresh",
        help="before the first sync, statistics of the district as the worker (SQLite) or autovacuum (PostgreSQL) "
        "keep them (fresh), or none (a district loaded a moment ago)",
    )
    args = ap.parse_args()
    os.environ.setdefault("ONGI_LOG_LEVEL", "WARNING")
    results = {}
    for size in [int(x) for x in args.sizes.split(",")]:
        results[size] = await one_size(args.db, size, args.reps, args.stats)
        print(size, {k: round(v, 4) for k, v in results[size].items()}, flush=True)
    print(table(args.db, results))


if __name__ == "__main__":
    asyncio.run(main())
