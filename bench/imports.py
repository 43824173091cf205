"""Measure the import rate of a crisis list (docs/performance.md: ≥ 2,000 rows/s on PostgreSQL).

    .venv/bin/python bench/imports.py --rows 20000                      # SQLite in a scratch directory
    .venv/bin/python bench/imports.py --rows 20000 200000 \\
        --postgres postgresql+asyncpg://ongi@127.0.0.1:55433/postgres    # a scratch database on that server
    .venv/bin/python bench/imports.py --rows 20000 --via ndjson          # POST …/households:bulk instead

Each size is imported ``--runs`` times (a new list each time; default 1), and the median rows/s printed.
Besides the wall clock, each run names the CPU seconds it cost: this process (``py``, threads included) and,
on PostgreSQL, the whole PostgreSQL server (``pg``: its postmaster, live children and the children it reaped,
``bench._support.pg_cluster_cpu_seconds``; a list of backends taken before and after misses those that closed
meanwhile); ``cpu rows/s`` is rows per CPU second
of both, the rate an otherwise idle machine would see (a loaded machine slows the wall clock, not that).

Two runs per size: a first import (every row a new household) and the same list again (every row
``unchanged``). ``--via upload`` (the default when the endpoint exists) sends the list as a CSV file to
``POST /v1/integrations/imports`` and polls ``GET /v1/integrations/imports/{id}`` until it is done;
``--via ndjson`` streams it to ``POST /v1/integrations/households:bulk``. The app is called in-process
through httpx's ASGI transport (no network), so the figure is the server's; the import itself runs in the
app's background task, as it does without a worker. Once the app started, the bench freezes what exists out of
the garbage collector's reach, as app.main does outside tests (``--thaw``: not; the full collections then walk
the app's own objects over and over, 2–4 s of py CPU on a 20k import).

``--statements`` prints the SQL statements (by text, bound values apart) and COPYs (by table) that took longest
in each import; ``--profile`` a cProfile of the event loop's thread (``--profile-sort cumulative``: by
cumulative time; the lines are parsed in a worker thread it does not see); ``--first-only`` skips the second
import; ``--keep`` keeps the scratch PostgreSQL database (to ``EXPLAIN`` its statements).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import io
import json
import pstats
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.integrations.imports import wait_for_imports
from app.main import create_app
from app.migrate import upgrade
from bench._support import (
    IMPORT_CLIENT_SECRET,
    StatementTimer,
    pg_admin,
    pg_cluster_cpu_seconds,
    seed_import_client,
)

SECRET = IMPORT_CLIENT_SECRET


def payload(i: int, tag: str) -> dict:
    return {
        "source": "bigdata",
        "external_id": f"{tag}-{i:07d}",
        "indicators": ["power_cut", "rent_overdue"] if i % 2 else ["health_insurance_arrears"],
        "observed_at": "2026-11-01T00:00:00Z",
        "details": {"months_overdue": i % 7},
        "household": {
            "district_code": "11990",
            "dong_code": f"11990{51 + i % 12}000",
            "address": f"온기구 벤치로 {i}",
            "head_name": f"최{i}",
            "members": [{"name": f"최{i}", "birth_year": 1940 + i % 50, "relation": "head", "tags": ["elderly"]}],
            "tags": ["single_person"],
        },
    }


async def ndjson_body(n: int, tag: str) -> AsyncIterator[bytes]:
    buf = bytearray()
    for i in range(1, n + 1):
        buf += json.dumps(payload(i, tag), ensure_ascii=False).encode() + b"\n"
        if len(buf) >= 64 * 1024:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


CSV_HEADER = [
    "관리번호",
    "출처",
    "위기지표",
    "기준일",
    "행정동코드",
    "주소",
    "세대주",
    "취약유형",
    "가구원",
    "상세.months_overdue",
]


def write_csv(path: Path, n: int, tag: str) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_HEADER)
        for i in range(1, n + 1):
            p = payload(i, tag)
            h = p["household"]
            w.writerow(
                [
                    p["external_id"],
                    p["source"],
                    ",".join(p["indicators"]),
                    "2026-11-01",
                    h["dong_code"],
                    h["address"],
                    h["head_name"],
                    ",".join(h["tags"]),
                    json.dumps(h["members"], ensure_ascii=False),
                    p["details"]["months_overdue"],
                ]
            )


async def via_ndjson(client: httpx.AsyncClient, token: str, n: int, tag: str) -> dict:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    r = await client.post("/v1/integrations/households:bulk", headers=headers, content=ndjson_body(n, tag))
    r.raise_for_status()
    return json.loads(r.text.splitlines()[-1])["summary"]


async def via_upload(client: httpx.AsyncClient, token: str, path: Path, state: Any) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    with path.open("rb") as fh:
        r = await client.post("/v1/integrations/imports", headers=headers, files={"file": (path.name, fh, "text/csv")})
    r.raise_for_status()
    url = f"/v1/integrations/imports/{r.json()['id']}"
    # the import runs in this process's background task: wait for it rather than poll (polling costs CPU in
    # proportion to the wall clock, and a loaded machine would bill it to the import)
    await wait_for_imports(state)
    while True:
        job = (await client.get(url, headers=headers)).json()
        if job["status"] in ("done", "failed"):
            return job
        await asyncio.sleep(0.2)


class StatementTimes(StatementTimer):
    """Wall time and calls of each SQL statement the app ran (``--statements``), by its text with the bound values
    taken out (a batch's statements of different sizes count as one), and of each COPY by table (COPYs go to
    asyncpg directly, app.core.inserts), to find the database's share."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine, width=400, key=lambda text: _PARAMS.sub("$n", text))
        import asyncpg

        self._copy = original = asyncpg.Connection.copy_records_to_table
        timer = self

        async def timed_copy(conn: Any, table_name: str, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(conn, table_name, **kw)
            finally:
                timer.times.setdefault(f"COPY {table_name}", []).append((time.perf_counter() - started) * 1000)

        asyncpg.Connection.copy_records_to_table = timed_copy  # type: ignore[method-assign]

    def report(self, top: int = 15) -> str:
        taken = self.take()
        rows = sorted(taken.items(), key=lambda kv: -sum(kv[1]))[:top]
        total = sum(sum(v) for v in taken.values()) / 1000
        out = [f"statements: {total:.2f}s in {sum(len(v) for v in taken.values())} calls"]
        out += [f"{sum(v) / 1000:8.2f}s {len(v):6d}x  {text[:300]}" for text, v in rows]
        return "\n".join(out)

    def close(self) -> None:
        import asyncpg

        asyncpg.Connection.copy_records_to_table = self._copy  # type: ignore[method-assign]
        super().close()


_PARAMS = re.compile(r"(?:\$\d+(?:::[A-Z]+(?:\[\])?)?(?:, )?)+|(?:\?(?:, )?)+")


async def run(
    sizes: list[int],
    postgres: str | None,
    via: str,
    profile: bool,
    runs: int = 1,
    *,
    keep: bool = False,
    statements: bool = False,
    profile_sort: str = "tottime",
    first_only: bool = False,
    thaw: bool = False,
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ongi-bench-import-"))
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
    timer = StatementTimes(state.engine) if statements else None
    try:
        await upgrade(state.engine)
        await seed_import_client(state)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=3600) as client,
        ):
            r = await client.post(
                "/v1/auth/token",
                data={"grant_type": "client_credentials", "client_id": "bench-feed", "client_secret": SECRET},
            )
            token = r.json()["access_token"]
            if not thaw:
                # as app.main does outside tests (the bench runs with env=test, which skips that): what exists
                # once the app started stays out of every later collection, the young one runs less often
                from app.main import tune_gc

                tune_gc(state.settings)
            for n in sizes:
                rates: dict[str, list[float]] = {}
                for _ in range(runs):
                    tag = uuid.uuid4().hex[:6]
                    path = data_dir / f"list-{tag}.csv"
                    if via == "upload":
                        write_csv(path, n, tag)
                    for label in ("first import",) if first_only else ("first import", "same list again"):
                        prof = cProfile.Profile() if profile else None
                        on_pg = bool(postgres and db_name)
                        pg_before = await pg_cluster_cpu_seconds(postgres) if on_pg else 0.0
                        cpu_before = time.process_time()
                        started = time.perf_counter()
                        if prof:
                            prof.enable()
                        if via == "upload":
                            summary = await via_upload(client, token, path, state)
                        else:
                            summary = await via_ndjson(client, token, n, tag)
                        if prof:
                            prof.disable()
                        elapsed = time.perf_counter() - started
                        py_cpu = time.process_time() - cpu_before
                        pg_cpu = (await pg_cluster_cpu_seconds(postgres) - pg_before) if on_pg else 0.0
                        rates.setdefault(label, []).append(n / elapsed)
                        rates.setdefault(label + " cpu", []).append(n / max(py_cpu + pg_cpu, 1e-6))
                        print(
                            f"{db:10} {via:7} {label:16} {n:7} rows in {elapsed:7.1f}s = {n / elapsed:7.0f} rows/s  "
                            f"cpu py {py_cpu:6.1f}s pg {pg_cpu:6.1f}s = {rates[label + ' cpu'][-1]:6.0f} cpu rows/s  "
                            f"{json.dumps(summary, default=str)[:200]}",
                            flush=True,
                        )
                        if timer:
                            print(timer.report(), flush=True)
                        if prof:
                            out = io.StringIO()
                            pstats.Stats(prof, stream=out).sort_stats(profile_sort).print_stats(60)
                            print(out.getvalue())
                for label in ("first import",) if first_only else ("first import", "same list again"):
                    print(
                        f"{db:10} {via:7} {label:16} {n:7} rows: median {statistics.median(rates[label]):7.0f} rows/s, "
                        f"{statistics.median(rates[label + ' cpu']):7.0f} cpu rows/s ({runs} runs)",
                        flush=True,
                    )
    finally:
        if timer:
            timer.close()
        await state.engine.dispose()
        if db_name and postgres and keep:
            print(f"kept database {db_name}", flush=True)
        elif db_name and postgres:
            await pg_admin(postgres, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a scratch database is made)")
    parser.add_argument("--via", choices=("upload", "ndjson"), default="upload")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each import")
    parser.add_argument("--profile-sort", default="tottime", help="the profile's order (tottime, cumulative, …)")
    parser.add_argument("--runs", type=int, default=1, help="imports per size (the median is printed)")
    parser.add_argument("--statements", action="store_true", help="print the SQL statements that took longest")
    parser.add_argument(
        "--thaw", action="store_true", help="leave the collector as Python sets it (no app.main.tune_gc)"
    )
    parser.add_argument("--first-only", action="store_true", help="skip importing the same list again")
    parser.add_argument("--keep", action="store_true", help="keep the scratch PostgreSQL database (to inspect it)")
    args = parser.parse_args()
    asyncio.run(
        run(
            args.rows,
            args.postgres,
            args.via,
            args.profile,
            args.runs,
            keep=args.keep,
            statements=args.statements,
            profile_sort=args.profile_sort,
            first_only=args.first_only,
            thaw=args.thaw,
        )
    )


if __name__ == "__main__":
    main()
