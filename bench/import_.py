"""Measure the bulk import rate: ``POST /v1/integrations/households:bulk`` with N NDJSON lines.

    .venv/bin/python -m bench.import_ --lines 20000            # SQLite in a scratch directory
    .venv/bin/python -m bench.import_ --lines 20000 \\
        --postgres postgresql+asyncpg://ongi@127.0.0.1:55433/postgres     # a scratch database on that server

Prints lines/s for a first import (new households) and for the same list again (all ``unchanged``).
The app is called in-process through httpx's ASGI transport (no network), so the figure is the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
import uuid
from collections.abc import AsyncIterator

import httpx

from bench._support import IMPORT_CLIENT_SECRET, scratch_app, seed_import_client

SECRET = IMPORT_CLIENT_SECRET


def line(i: int, tag: str) -> bytes:
    body = {
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
    return json.dumps(body, ensure_ascii=False).encode() + b"\n"


async def body(n: int, tag: str) -> AsyncIterator[bytes]:
    buf = bytearray()
    for i in range(1, n + 1):
        buf += line(i, tag)
        if len(buf) >= 64 * 1024:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


async def run(n: int, postgres: str | None, profile: bool) -> None:
    async with scratch_app(postgres, prefix="ongi-bench-import-") as app:
        state = app.state.ongi
        await seed_import_client(state)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=3600) as client:
            r = await client.post(
                "/v1/auth/token",
                data={"grant_type": "client_credentials", "client_id": "bench-feed", "client_secret": SECRET},
            )
            headers = {"Authorization": f"Bearer {r.json()['access_token']}", "Content-Type": "application/x-ndjson"}
            tag = uuid.uuid4().hex[:6]
            for label in ("first import", "same list again"):
                prof = cProfile.Profile() if profile and label == "first import" else None
                started = time.perf_counter()
                if prof:
                    prof.enable()
                r = await client.post("/v1/integrations/households:bulk", headers=headers, content=body(n, tag))
                if prof:
                    prof.disable()
                elapsed = time.perf_counter() - started
                summary = json.loads(r.text.splitlines()[-1])["summary"]
                db = "postgresql" if postgres else "sqlite"
                print(f"{db:10} {label:16} {n} lines in {elapsed:6.1f}s = {n / elapsed:7.0f} lines/s  {summary}")
                if prof:
                    pstats.Stats(prof).sort_stats(
                        sys.argv[-1] if sys.argv[-1] in ("tottime", "cumulative") else "tottime"
                    ).print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a scratch database is made)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first import")
    args = parser.parse_args()
    asyncio.run(run(args.lines, args.postgres, args.profile))


if __name__ == "__main__":
    main()
