"""Measure an export's memory: ``GET /v1/exports/visits`` over many visits, streamed and thrown away.

    .venv/bin/python scripts/bench_export.py --visits 50000            # SQLite in a scratch directory
    .venv/bin/python scripts/bench_export.py --visits 50000 \\
        --postgres postgresql+asyncpg://ongi@127.0.0.1:55433/postgres     # a scratch database on that server

The app is driven as a bare ASGI callable whose ``send`` counts the body and drops it (an HTTP client would
buffer the body itself and spoil the measurement). Prints rows, MiB sent, rows/s, the peak of Python
allocations during the export (tracemalloc) and the resident-set growth, for a small export and the full
one: a streaming export's peak does not grow with the number of rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from app.auth.models import Organization, OrgKind, Role, User
from app.core.config import Settings
from app.core.db import open_session, utcnow
from app.households.models import Household
from app.main import create_app
from app.migrate import upgrade
from app.visits.models import Visit, VisitAssignee

PASSWORD = "bench-password-0123456789"  # noqa: S105 - a throwaway user in a scratch database


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def seed(state: Any, visits: int) -> tuple[User, User]:
    now = utcnow()
    async with open_session(state.sessionmaker, write=True) as s:
        org = Organization(name="bench", kind=OrgKind.public, jurisdiction=["11990"])
        s.add(org)
        await s.flush()
        coordinator = User(
            organization_id=org.id,
            username="bench-coordinator",
            display_name="bench",
            role=Role.coordinator,
            password_hash=state.security.hash_password_sync(PASSWORD),
        )
        planner = User(organization_id=org.id, username="bench-planner", display_name="planner", role=Role.planner)
        s.add_all([coordinator, planner])
        await s.flush()
        households = []
        for i in range(500):
            h = {
                "id": uuid.uuid4(),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "district_code": "11990",
                "dong_code": f"11990{51 + i % 12}000",
                "address": f"온기구 벤치로 {i}",
                "head_name": f"김{i}",
                "members": [],
                "tags": ["elderly"],
                "risk_level": "moderate",
                "priority": i % 100,
                "status": "identified",
                "recurrence_count": 0,
            }
            households.append(h)
        await s.execute(insert(Household), households)
    for start in range(0, visits, 5000):
        rows, team = [], []
        for i in range(start, min(start + 5000, visits)):
            h = households[i % len(households)]
            vid = uuid.uuid4()
            at = now - timedelta(hours=i % 2000)
            rows.append(
                {
                    "id": vid,
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                    "household_id": h["id"],
                    "dong_code": h["dong_code"],
                    "purpose": "assessment",
                    "status": "completed" if i % 3 else "scheduled",
                    "window_start": at,
                    "window_end": at + timedelta(hours=4),
                    "checklists": [{"key": "lonely-death-screening", "version": 1}],
                    "expected_photos": [],
                    "outcome": "방문 완료, 난방 상태 양호" if i % 3 else None,
                }
            )
            team.append(
                {
                    "id": uuid.uuid4(),
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                    "visit_id": vid,
                    "user_id": planner.id,
                    "organization_id": org.id,
                    "lead": True,
                }
            )
        async with open_session(state.sessionmaker, write=True) as s:
            await s.execute(insert(Visit), rows)
            await s.execute(insert(VisitAssignee), team)
    return coordinator, planner


async def export(app: Any, token: str, query: str) -> tuple[int, int]:
    """Drive the ASGI app for one export; returns (body bytes, lines)."""
    sent = {"bytes": 0, "lines": 0, "status": 0}
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not done.is_set():
            await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            sent["bytes"] += len(body)
            sent["lines"] += body.count(b"\n")
            if not message.get("more_body"):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/exports/visits",
        "raw_path": b"/v1/exports/visits",
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"ongi-reason", b"bench"), (b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
        "state": {},
    }
    await app(scope, receive, send)
    assert sent["status"] == 200, sent
    return sent["bytes"], sent["lines"]


async def run(visits: int, postgres: str | None) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ongi-bench-export-"))
    db_name = None
    if postgres:
        import asyncpg

        db_name = f"ongi_bench_{uuid.uuid4().hex[:10]}"
        u = make_url(postgres)
        conn = await asyncpg.connect(
            user=u.username, password=u.password, host=u.host, port=u.port or 5432, database=u.database
        )
        await conn.execute(f'CREATE DATABASE "{db_name}"')
        await conn.close()
        url = u.set(database=db_name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    settings = Settings(env="test", data_dir=data_dir, database_url=url, log_level="WARNING", demo=False)
    app = create_app(settings)
    state = app.state.ongi
    try:
        await upgrade(state.engine)
        t0 = time.perf_counter()
        await seed(state, visits)
        print(f"seeded {visits} visits in {time.perf_counter() - t0:.1f}s ({'postgresql' if postgres else 'sqlite'})")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            r = await client.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": "bench-coordinator", "password": PASSWORD},
            )
            token = r.json()["access_token"]
        for label, query, traced in (
            ("small (one dong, csv)", "format=csv&dong_code=1199051000", True),
            ("all (csv)", "format=csv", True),
            ("all (ndjson)", "format=ndjson", True),
            ("all (ndjson), untraced", "format=ndjson", False),  # the rate without tracemalloc's overhead
        ):
            rss_before = rss_mib()
            if traced:
                tracemalloc.start()
            started = time.perf_counter()
            size, lines = await export(app, token, query)
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if traced else 0
            if traced:
                tracemalloc.stop()
            memory = f"peak Python allocations {peak / 2**20:5.1f} MiB" if traced else " " * 34
            print(
                f"{label:24} {lines:7d} lines {size / 2**20:7.1f} MiB in {elapsed:5.1f}s "
                f"({lines / elapsed:6.0f} rows/s)  {memory}  RSS {rss_before:5.0f} → {rss_mib():5.0f} MiB"
            )
    finally:
        await state.engine.dispose()
        if db_name and postgres:
            import asyncpg

            u = make_url(postgres)
            conn = await asyncpg.connect(
                user=u.username, password=u.password, host=u.host, port=u.port or 5432, database=u.database
            )
            await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=50_000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a scratch database is made)")
    args = parser.parse_args()
    asyncio.run(run(args.visits, args.postgres))


if __name__ == "__main__":
    main()
