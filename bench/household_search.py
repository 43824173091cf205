"""Measure ``POST /v1/households/search`` over a district of 30,000 households (docs/performance.md: p50 ≤ 50 ms).

    .venv/bin/python bench/household_search.py                                   # SQLite in a scratch directory
    .venv/bin/python bench/household_search.py \\
        --postgres postgresql+asyncpg://ongi@127.0.0.1:55433/postgres            # a scratch database on that server
    .venv/bin/python bench/household_search.py --households 3000 --queries 100   # smaller

The households are generated from the demo's syllable tables (:mod:`app.demo.names`: names, mobiles,
road-name addresses with apartments, villas, semi-basements and goshiwons) plus a quarter with lot-number
addresses, bulk-inserted, and given their search keys with :func:`app.households.search.refresh_search_keys`
(the path a batched import takes); then ``ANALYZE``. A coordinator of the whole district asks queries the
way people type them, in every form the search normalizes: the head's name (with and without a space), the
given name alone, a member's name, the phone as ``010-…``, ``+82 10 …``, digits only and its last four
digits, the road address with and without spaces, the lot-number address, the unit (``101동 1203호``,
``101-1203``, ``B01호``). The app is called in-process through httpx's ASGI transport (no network), so the
figure is the server's (each request is a writing request: the search is audited, one row per household
answered). Prints p50/p90/p99 per kind and overall, and how often the household looked for was on the
first page.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from app.auth.models import Organization, User
from app.core.config import Settings
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.demo import names
from app.households.models import Household
from app.households.search import refresh_search_keys
from app.main import create_app
from app.migrate import upgrade
from bench._support import pg_admin

PASSWORD = "bench-password-0123456789"  # noqa: S105 - a throwaway login in a scratch database
DISTRICT = "11990"


def households(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        d = i % 12
        year = rng.randrange(1935, 2000)
        head = names.person_name(rng, year, rng.random() < 0.6, 2026)
        members = [{"key": "m1", "name": head, "birth_year": year, "relation": "head", "tags": []}]
        if rng.random() < 0.4:
            other_year = rng.randrange(1935, 2020)
            members.append(
                {
                    "key": "m2",
                    "name": names.person_name(rng, other_year, rng.random() < 0.5, 2026),
                    "birth_year": other_year,
                    "relation": "other",
                    "tags": [],
                }
            )
        if rng.random() < 0.25:
            main = f"서울특별시 온기구 {names.DONG_NAMES[d]} {rng.randrange(1, 900)}-{rng.randrange(1, 60)}번지"
            detail = rng.choice([None, f"{rng.randrange(1, 4)}층", f"지하 B0{rng.randrange(1, 4)}호"])
        else:
            main, detail, _ = names.address(rng, d)
        at = start + timedelta(minutes=i)
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128)),
                "version": 1,
                "created_at": at,
                "updated_at": at,
                "district_code": DISTRICT,
                "dong_code": f"{DISTRICT}{51 + d}000",
                "address": main,
                "address_detail": detail,
                "head_name": head,
                "contact_phone": names.fake_mobile(rng) if rng.random() < 0.85 else None,
                "members": members,
                "tags": [],
                "risk_level": "low",
                "priority": 0,
                "status": "identified",
                "recurrence_count": 0,
            }
        )
    return rows


def queries(rows: list[dict[str, Any]], count: int, seed: int) -> list[tuple[str, str, uuid.UUID]]:
    """(kind, q, the household looked for)."""
    rng = random.Random(seed + 1)
    out: list[tuple[str, str, uuid.UUID]] = []
    while len(out) < count:
        h = rng.choice(rows)
        head, phone, addr, detail = h["head_name"], h["contact_phone"], h["address"], h["address_detail"]
        kinds: list[tuple[str, str]] = [
            ("name", head),
            ("name spaced", f"{head[0]} {head[1:]}"),
            ("given name", head[1:]),
        ]
        if len(h["members"]) > 1:
            kinds.append(("member name", h["members"][1]["name"]))
        if phone:
            digits = phone.replace("-", "")
            kinds += [
                ("phone", phone),
                ("phone +82", f"+82 {digits[1:3]} {digits[3:7]} {digits[7:]}"),
                ("phone digits", digits),
                ("phone last 4", digits[-4:]),
            ]
        words = addr.replace("(", " ").replace(")", " ").split()
        if "번지" in addr:
            kinds.append(("lot address", " ".join(words[2:4]).replace("번지", "")))
        else:
            road = " ".join(words[2:4])
            kinds += [("road address", road), ("road address unspaced", road.replace(" ", ""))]
        if detail and "동 " in detail and "호" in detail:
            building, unit = detail.split()[:2]
            kinds += [("unit", detail), ("unit short", f"{building[:-1]}-{unit[:-1]}")]
        elif detail and "B0" in detail:
            kinds.append(("basement unit", detail.split()[-1]))
        kind, q = rng.choice(kinds)
        out.append((kind, q, h["id"]))
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(n: int, count: int, postgres: str | None, seed: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ongi-bench-search-"))
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
    db = "postgresql" if postgres else "sqlite"
    try:
        await upgrade(state.engine)
        rows = households(n, seed)
        started = time.perf_counter()
        async with open_session(state.sessionmaker, write=True) as s:
            org = Organization(name="bench", kind=OrgKind.public, jurisdiction=[DISTRICT])
            s.add(org)
            await s.flush()
            s.add(
                User(
                    organization_id=org.id,
                    username="bench-coordinator",
                    display_name="bench",
                    role=Role.coordinator,
                    password_hash=state.security.hash_password_sync(PASSWORD),
                )
            )
            for i in range(0, len(rows), 2000):
                await s.execute(insert(Household.__table__), rows[i : i + 2000])
            keys = await refresh_search_keys(s, [r["id"] for r in rows])
        async with state.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        print(f"{db}: {n} households, {keys} search keys in {time.perf_counter() - started:.1f}s", flush=True)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client,
        ):
            r = await client.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": "bench-coordinator", "password": PASSWORD},
            )
            r.raise_for_status()
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            asked = queries(rows, count, seed)
            for _kind, q, _ in asked[:20]:  # warm up
                await client.post("/v1/households/search", headers=headers, json={"q": q})
            times: dict[str, list[float]] = {}
            sizes: list[int] = []
            hits = 0
            for kind, q, wanted in asked:
                t0 = time.perf_counter()
                r = await client.post("/v1/households/search", headers=headers, json={"q": q, "limit": 50})
                elapsed = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                items = r.json()["items"]
                sizes.append(len(items))
                hits += any(item["id"] == str(wanted) for item in items)
                times.setdefault(kind, []).append(elapsed)
                times.setdefault("all", []).append(elapsed)
        print(f"{'kind':24} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
        for kind in sorted(times, key=lambda k: (k == "all", k)):
            v = times[kind]
            print(f"{kind:24} {len(v):5} {statistics.median(v):8.1f} {pct(v, 90):8.1f} {pct(v, 99):8.1f}")
        print(
            f"{db}: p50 {statistics.median(times['all']):.1f} ms over {n} households; "
            f"looked-for household on the first page {hits}/{len(asked)}; "
            f"median results {statistics.median(sizes):.0f}",
            flush=True,
        )
    finally:
        await state.engine.dispose()
        if db_name and postgres:
            await pg_admin(postgres, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=30_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a scratch database is made)")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    asyncio.run(run(args.households, args.queries, args.postgres, args.seed))


if __name__ == "__main__":
    main()
