"""Measure the API call behind Ongi Desk's campaign dashboard on the full winter district (issue 19: p50 ≤ 300 ms).

    .venv/bin/python -m bench.desk_dashboard                              # SQLite in a scratch directory
    .venv/bin/python -m bench.desk_dashboard \\
        --postgres postgresql+asyncpg://ongi@127.0.0.1:55433/postgres    # a scratch database on that server
    .venv/bin/python -m bench.desk_dashboard --runs 50 --profile

The district is docs/performance.md#budget's (``app.demo.generate --size full``: 12 dongs, 3,000 households, 9,000
visits …,
photo files not stored). The dashboard opens on the current winter campaign and asks
``GET /v1/campaigns/{id}/summary`` (identified, reached, visited, supported, monitored … by dong and by source)
as the demo coordinator, whose jurisdiction is the whole district, for every campaign of the district (the
current one, which the screen opens on, and last winter's, the one full of visits); each run is that call
through the app in-process (httpx's ASGI transport: auth, the queries, the JSON). Also timed: the campaign list
the screen asks first. A few first calls warm the process up and are not counted. Prints median, p95 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from app import registry
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.security import Security
from app.demo.generator import generate
from app.main import create_app
from app.migrate import upgrade
from bench._support import pg_admin

BUDGET_MS = 300.0


def _settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        env="development",
        data_dir=data_dir,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_cost_kib=64,
        argon2_parallelism=1,
        log_level="WARNING",
    )


async def _generate(settings: Settings) -> None:
    registry.import_models()
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        t0 = time.perf_counter()
        stats = await generate(create_sessionmaker(engine), "full", security=Security(settings), storage=None)
        print(f"generated in {time.perf_counter() - t0:.1f} s: {stats.summary().splitlines()[0]}")
    finally:
        await engine.dispose()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(settings: Settings, runs: int, profile: bool) -> dict[str, dict[str, float]]:
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                r = await client.post(
                    "/v1/auth/token",
                    data={"grant_type": "password", "username": "coordinator", "password": "ongi-demo"},
                )
                r.raise_for_status()
                client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
                today = datetime.now(settings.tz).date().isoformat()
                listing: list[float] = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    r = await client.get("/v1/campaigns", params={"limit": 100})
                    listing.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                items = r.json()["items"]
                running = sorted(
                    (c for c in items if c["active"] and c["ends_on"] >= today), key=lambda c: c["starts_on"]
                )
                out: dict[str, dict[str, float]] = {"list": {"p50": statistics.median(listing)}}
                profiler = cProfile.Profile() if profile else None
                for campaign in sorted(items, key=lambda c: c["starts_on"]):
                    path = f"/v1/campaigns/{campaign['id']}/summary"
                    for _ in range(3):  # warm-up
                        (await client.get(path)).raise_for_status()
                    times: list[float] = []
                    body: dict = {}
                    for _ in range(runs):
                        if profiler:
                            profiler.enable()
                        t0 = time.perf_counter()
                        r = await client.get(path)
                        times.append((time.perf_counter() - t0) * 1000)
                        if profiler:
                            profiler.disable()
                        r.raise_for_status()
                        body = r.json()
                    which = "current" if running and campaign["id"] == running[0]["id"] else "other"
                    print(
                        f"{which} campaign {campaign['name']} ({campaign['starts_on']} – {campaign['ends_on']}): "
                        f"{len(body['by_dong'])} dongs, {len(body['by_source'])} sources, totals {body['totals']}, "
                        f"visits completed {body['visits_completed']}"
                    )
                    out[f"{campaign['starts_on']} – {campaign['ends_on']} ({which})"] = {
                        "p50": statistics.median(times),
                        "p95": _percentile(times, 0.95),
                        "max": max(times),
                        "completed": body["visits_completed"],
                    }
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                return out
    finally:
        await app.state.ongi.engine.dispose()


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="ongi-bench-desk-") as tmp:
        data_dir = Path(tmp)
        db_name = None
        if args.postgres:
            db_name = f"ongi_bench_desk_{uuid.uuid4().hex[:10]}"
            await pg_admin(args.postgres, f'CREATE DATABASE "{db_name}"')
            url = make_url(args.postgres).set(database=db_name).render_as_string(hide_password=False)
            label = "PostgreSQL"
        else:
            url = f"sqlite+aiosqlite:///{data_dir / 'ongi.db'}"
            label = "SQLite"
        try:
            settings = _settings(url, data_dir)
            await _generate(settings)
            figures = await measure(settings, args.runs, args.profile)
        finally:
            if db_name:
                await pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    summaries = {k: v for k, v in figures.items() if k != "list"}
    ok = all(v["p50"] <= BUDGET_MS for v in summaries.values())
    print()
    print("| what | database | runs | p50 | p95 | max | budget |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, f in summaries.items():
        print(
            f"| desk campaign dashboard: GET /v1/campaigns/{{id}}/summary, full winter district, campaign {name}, "
            f"{f['completed']:.0f} visits completed | {label} | {args.runs} | {f['p50']:.1f} ms | {f['p95']:.1f} ms "
            f"| {f['max']:.1f} ms | p50 ≤ {BUDGET_MS:.0f} ms {'✓' if f['p50'] <= BUDGET_MS else '✗'} |"
        )
    print(f"| desk campaign list: GET /v1/campaigns | {label} | 5 | {figures['list']['p50']:.1f} ms | | | |")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a scratch database is made on it)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
