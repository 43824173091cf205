"""Measure the creation of a cold-wave alert over 3,000 households (docs/winter.md: ≤ 2 s).

    .venv/bin/python -m bench.winter_alerts                              # SQLite in a scratch directory
    .venv/bin/python -m bench.winter_alerts \\
        --postgres postgresql+asyncpg://ongi@127.0.0.1:55433/postgres    # a scratch database on that server
    .venv/bin/python -m bench.winter_alerts --households 3000 --runs 5 --profile

The scratch district: ``--households`` households over 12 dongs, all matching the alert's criteria (high risk,
single-person elderly), a third of them on an open visit of a planner, and three duty planners per dong. Each run
is one ``POST /v1/alerts`` through the app in-process (httpx's ASGI transport: auth, the matching, the assignment
rule, the multi-row inserts of the tasks and their change-log rows, the commit), on the same households, so every
run hands out ``--households`` tasks. Prints the median and the slowest run; a first run warms the process up
(statement caches) and is not counted.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from app.auth.models import Organization, User
from app.core.config import Settings
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.households.models import Household
from app.main import create_app
from app.migrate import upgrade
from app.visits.models import Visit, VisitAssignee
from bench._support import pg_admin

PASSWORD = "bench-password-0123456789"  # noqa: S105 - throwaway users in a scratch database
DONGS = [f"11990{51 + i}000" for i in range(12)]


async def seed(state: object, households: int) -> None:
    now = datetime.now(UTC)
    async with open_session(state.sessionmaker, write=True) as s:  # type: ignore[attr-defined]
        org = Organization(name="bench", kind=OrgKind.public, jurisdiction=["11990"])
        s.add(org)
        await s.flush()
        users = [
            User(
                organization_id=org.id,
                username="bench-coordinator",
                display_name="coordinator",
                role=Role.coordinator,
                password_hash=state.security.hash_password_sync(PASSWORD),  # type: ignore[attr-defined]
            )
        ]
        planners: dict[str, list[uuid.UUID]] = {}
        for dong in DONGS:
            for k in range(3):
                user = User(
                    organization_id=org.id,
                    username=f"planner-{dong}-{k}",
                    display_name=f"planner {dong} {k}",
                    role=Role.planner,
                    jurisdiction=[dong],
                )
                users.append(user)
                planners.setdefault(dong, []).append(user.id)
        s.add_all(users)
        await s.flush()
        rows, visits, team = [], [], []
        for i in range(households):
            dong = DONGS[i % len(DONGS)]
            hid = uuid.uuid4()
            rows.append(
                {
                    "id": hid,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "district_code": "11990",
                    "dong_code": dong,
                    "address": f"온기구 한파로 {i}",
                    "head_name": f"박{i}",
                    "members": [],
                    "tags": ["elderly", "single_person"],
                    "risk_level": "high",
                    "priority": 50,
                    "status": "supported" if i % 4 else "identified",
                    "recurrence_count": 0,
                }
            )
            if i % 3 == 0:
                vid = uuid.uuid4()
                visits.append(
                    {
                        "id": vid,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                        "household_id": hid,
                        "dong_code": dong,
                        "purpose": "follow_up",
                        "status": "scheduled",
                        "window_start": now + timedelta(days=1),
                        "window_end": now + timedelta(days=1, hours=4),
                        "checklists": [],
                        "expected_photos": [],
                    }
                )
                team.append(
                    {
                        "id": uuid.uuid4(),
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                        "visit_id": vid,
                        "user_id": planners[dong][i % 3],
                        "organization_id": org.id,
                        "lead": True,
                    }
                )
        for table, data in ((Household, rows), (Visit, visits), (VisitAssignee, team)):
            for start in range(0, len(data), 1000):
                await s.execute(insert(table.__table__), data[start : start + 1000])


async def run(households: int, runs: int, postgres: str | None, profile: bool, verbose: bool) -> list[float]:
    data_dir = Path(tempfile.mkdtemp(prefix="ongi-bench-alerts-"))
    db_name = None
    if postgres:
        db_name = f"ongi_bench_{uuid.uuid4().hex[:10]}"
        await pg_admin(postgres, f'CREATE DATABASE "{db_name}"')
        url = make_url(postgres).set(database=db_name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    settings = Settings(env="test", data_dir=data_dir, database_url=url, log_level="WARNING", demo=False)
    app = create_app(settings)
    state = app.state.ongi
    timings: list[float] = []
    try:
        await upgrade(state.engine)
        await seed(state, households)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client,
        ):
            r = await client.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": "bench-coordinator", "password": PASSWORD},
            )
            r.raise_for_status()
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            for n in range(-1, runs):  # run -1 warms the process up (statement caches): not counted
                now = datetime.now(UTC)
                body = {
                    "kind": "cold_wave",
                    "dong_codes": DONGS,
                    "starts_at": now.isoformat(),
                    "ends_at": (now + timedelta(days=2)).isoformat(),
                    "criteria": {"risk_levels": ["high", "critical"], "tags": ["single_person", "elderly"]},
                    "due_hours": 24,
                    "title": f"bench {n}",
                }
                prof = cProfile.Profile() if profile and n == 0 else None
                started = time.perf_counter()
                if prof:
                    prof.enable()
                r = await client.post("/v1/alerts", json=body, headers=headers)
                if prof:
                    prof.disable()
                elapsed = time.perf_counter() - started
                r.raise_for_status()
                assert r.json()["task_count"] == households, r.text
                if n >= 0:
                    timings.append(elapsed)
                if verbose:
                    print(f"run {n}: {elapsed * 1000:.0f} ms" + (" (warm-up)" if n < 0 else ""))
                if prof:
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    finally:
        await state.engine.dispose()
        if db_name:
            await pg_admin(postgres, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')  # type: ignore[arg-type]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="an admin URL of a PostgreSQL server (a scratch database is made)")
    parser.add_argument("--profile", action="store_true", help="print a profile of the first run")
    parser.add_argument("--verbose", action="store_true", help="print every run")
    args = parser.parse_args()
    timings = asyncio.run(run(args.households, args.runs, args.postgres, args.profile, args.verbose))
    db = "postgresql" if args.postgres else "sqlite"
    median, worst = statistics.median(timings), max(timings)
    verdict = "ok" if worst <= 2.0 else "OVER BUDGET"
    print("| database | households | runs | median | slowest | budget 2 s |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {db} | {args.households:,} | {len(timings)} | {median * 1000:.0f} ms | {worst * 1000:.0f} ms | {verdict} |"
    )


if __name__ == "__main__":
    main()
