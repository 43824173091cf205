"""Measure an export's memory: ``GET /v1/exports/visits`` over many visits, streamed and thrown away.

    .venv/bin/python -m bench.export --visits 50000            # SQLite in a scratch directory
    .venv/bin/python -m bench.export --visits 50000 \\
        --postgres postgresql+asyncpg://ongi@127.0.0.1:55433/postgres     # a scratch database on that server

The app is driven as a bare ASGI callable whose ``send`` counts the body and drops it (an HTTP client would
buffer the body itself and spoil the measurement). Prints rows, MiB sent, rows/s, the peak of Python
allocations during the export (tracemalloc) and the resident-set growth, for a small export and the full
one: a streaming export's peak does not grow with the number of rows.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from app.auth.models import Organization, User
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.households.models import Household
from app.visits.models import Visit, VisitAssignee
from bench._support import PASSWORD, asgi_client, bearer, scratch_app, self_rss_mib


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
    async with scratch_app(postgres, prefix="ongi-bench-export-") as app:
        state = app.state.ongi
        t0 = time.perf_counter()
        await seed(state, visits)
        print(f"seeded {visits} visits in {time.perf_counter() - t0:.1f}s ({'postgresql' if postgres else 'sqlite'})")
        async with asgi_client(app) as client:
            token = (await bearer(client, "bench-coordinator"))["Authorization"].removeprefix("Bearer ")
        for label, query, traced in (
            ("small (one dong, csv)", "format=csv&dong_code=1199051000", True),
            ("all (csv)", "format=csv", True),
            ("all (ndjson)", "format=ndjson", True),
            ("all (ndjson), untraced", "format=ndjson", False),  # the rate without tracemalloc's overhead
        ):
            rss_before = self_rss_mib()
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
                f"({lines / elapsed:6.0f} rows/s)  {memory}  RSS {rss_before:5.0f} → {self_rss_mib():5.0f} MiB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=50_000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a scratch database is made)")
    args = parser.parse_args()
    asyncio.run(run(args.visits, args.postgres))


if __name__ == "__main__":
    main()
