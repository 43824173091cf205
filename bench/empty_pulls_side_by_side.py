"""Empty pulls of two or more checkouts side by side: ``python -m bench.empty_pulls_side_by_side --postgres URL TREE…``

Each TREE (a checkout, e.g. a ``git worktree`` of an older commit with ``.venv`` linked) gets a database of its own
on the PostgreSQL server URL names (``postgresql://…``), one API process (uvicorn, one worker) and one phone that made
its first sync. Then, in ``--rounds`` interleaved rounds, each phone makes ``--pulls`` empty pulls one after another
(the fast path). Printed per tree: the client's latency median and p90, and the statements one empty pull runs
(pg_stat_statements, when the server loads it: ``shared_preload_libraries=pg_stat_statements``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench._support import QUICK_ARGON2, bench_env, free_port, pg_admin, uvicorn_command
from bench.kinto_side_by_side import OngiPhone, ongi_seed_people, run_checked, spawn, wait_up, with_database


async def start(tree: Path, pg: str) -> dict[str, Any]:
    name = f"ongi_bench_{uuid.uuid4().hex[:8]}"
    await pg_admin(pg, f'CREATE DATABASE "{name}"')
    data = Path(tempfile.mkdtemp(prefix="ongi-bench-"))
    env = bench_env(
        data,
        PYTHONPATH=str(tree),
        ONGI_DATABASE_URL=with_database(pg, name, "postgresql+asyncpg"),
        **QUICK_ARGON2,
    )
    await run_checked([sys.executable, "-m", "app", "migrate"], env=env, cwd=tree)
    users, visit = await ongi_seed_people(env, 1)  # through this benchmark's own factories (the schemas agree)
    port = free_port()
    proc = spawn(uvicorn_command("127.0.0.1", port), log=data / "uvicorn.log", env=env, cwd=tree)
    await asyncio.to_thread(wait_up, f"http://127.0.0.1:{port}/healthz", proc, str(tree))
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    phone = OngiPhone(http, users[0], visit)
    await phone.login()
    await phone.pull(limit=100)
    return {"tree": tree, "database": name, "proc": proc, "http": http, "phone": phone, "latency": []}


async def statements_per_pull(pg: str, side: dict[str, Any], pulls: int) -> float | None:
    import asyncpg

    conn = await asyncpg.connect(with_database(pg, side["database"], "postgresql"))
    try:
        if not await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"):
            try:
                await conn.execute("CREATE EXTENSION pg_stat_statements")
            except asyncpg.PostgresError:
                return None
        dbid = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
        try:
            await conn.execute("SELECT pg_stat_statements_reset(0, $1, 0)", dbid)
        except asyncpg.PostgresError:  # not preloaded
            return None
        phone = side["phone"]
        for _ in range(pulls):
            await side["http"].get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=phone.headers)
        calls = await conn.fetchval(
            "SELECT sum(calls) FROM pg_stat_statements WHERE dbid = $1 AND query NOT LIKE '%pg_stat_statements%'",
            dbid,
        )
        return float(calls or 0) / pulls
    finally:
        await conn.close()


async def main(args: argparse.Namespace, trees: list[Path]) -> None:
    sides = [await start(tree, args.postgres) for tree in trees]
    try:
        for _ in range(args.rounds):
            for side in sides:
                phone, http = side["phone"], side["http"]
                for _ in range(args.pulls):
                    t = time.perf_counter()
                    r = await http.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=phone.headers)
                    side["latency"].append(time.perf_counter() - t)
                    if r.status_code != 200 or r.json()["changes"]:
                        raise RuntimeError(f"{side['tree']}: not an empty pull: {r.status_code}")
        for side in sides:
            lat = sorted(side["latency"])
            per_pull = await statements_per_pull(args.postgres, side, 100)
            statements = f"{per_pull:.1f}" if per_pull is not None else "n/a (pg_stat_statements not loaded)"
            print(
                f"{side['tree']}: empty pull median {statistics.median(lat) * 1000:.2f} ms, "
                f"p90 {lat[int(len(lat) * 0.9)] * 1000:.2f} ms over {len(lat)}; statements per pull {statements}"
            )
    finally:
        for side in sides:
            await side["http"].aclose()
            side["proc"].terminate()
            side["proc"].wait()
            await pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{side["database"]}" WITH (FORCE)')


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", required=True, help="postgresql://user@host:port/db of a server to make databases on")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--pulls", type=int, default=300)
    ap.add_argument("trees", nargs="+")
    parsed = ap.parse_args()
    asyncio.run(main(parsed, [Path(t).resolve() for t in parsed.trees]))
