"""Profile the sync hot paths in-process: ``python -m bench.profile_sync empty|first|push|partial|sift [--n N]``.

Generates the full winter district into a temporary directory, then runs the path under cProfile through
the ASGI app (no network) and prints the top functions by cumulative and own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Which planner (in username order) the profile runs as; planners' scopes differ in size.
USER_INDEX = int(os.environ.get("ONGI_PROFILE_USER", "3"))
#: Mutations per push in the push profile.
MUTATIONS = int(os.environ.get("ONGI_PROFILE_MUTATIONS", "200"))


async def main(path: str, n: int, data: Path, use_pyinstrument: bool | None = False) -> None:
    import httpx

    from app.core.config import Settings
    from app.core.db import create_engine, create_sessionmaker
    from app.core.security import Security
    from app.demo.generator import generate
    from app.main import create_app
    from app.migrate import upgrade

    settings = Settings(data_dir=data, demo=False, log_level="WARNING")
    if not (data / "ongi.db").exists():
        engine = create_engine(settings)
        await upgrade(engine)
        await generate(create_sessionmaker(engine), "full", security=Security(settings), today=None, seed=1)
        await engine.dispose()
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        users = [f"planner{i:02d}" for i in range(1, 41)]
        r = await c.post(
            "/v1/auth/token", data={"grant_type": "password", "username": "admin", "password": "ongi-demo"}
        )
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        users = [
            u["username"]
            for u in (await c.get("/v1/users", params={"role": "planner", "limit": 50}, headers=admin)).json()["items"]
        ]
        device = uuid.uuid4().hex
        r = await c.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": users[USER_INDEX],
                "password": "ongi-demo",
                "device_id": device,
            },
        )
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}

        async def full() -> tuple[str, list[dict]]:
            cursor, changes = None, []
            while True:
                r = await c.get(
                    "/v1/sync/pull", params={"limit": 1000, **({"cursor": cursor} if cursor else {})}, headers=h
                )
                body = r.json()
                changes += body["changes"]
                cursor = body["cursor"]
                if not body["has_more"]:
                    return cursor, changes

        cursor, changes = await full()
        print("first sync records:", len(changes))
        prof = Prof(use_pyinstrument)
        t = time.perf_counter()
        if path == "empty":
            prof.enable()
            for _ in range(n):
                await c.get("/v1/sync/pull", params={"cursor": cursor}, headers=h)
            prof.disable()
        elif path in ("sift", "partial"):
            # sift: a pull after another worker's changes that do not concern this device;
            # partial: a pull after a few changes within the device's scope (its own push)
            writer, writer_device, targets = h, device, changes
            if path == "sift":
                writer_device = uuid.uuid4().hex
                r = await c.post(
                    "/v1/auth/token",
                    data={
                        "grant_type": "password",
                        "username": users[USER_INDEX + 1],
                        "password": "ongi-demo",
                        "device_id": writer_device,
                    },
                )
                writer = {"Authorization": f"Bearer {r.json()['access_token']}"}
                targets = (await c.get("/v1/sync/pull", params={"limit": 2000}, headers=writer)).json()["changes"]
            households = [x for x in targets if x["entity"] == "household"]
            for k in range(n):
                muts = [
                    {
                        "mutation_id": str(uuid.uuid4()),
                        "entity": "household",
                        "op": "patch",
                        "id": households[(k * 5 + i) % len(households)]["id"],
                        "base_version": None,
                        "data": {"living_situation": f"{path} {k}-{i}"},
                    }
                    for i in range(5)
                ]
                await c.post(
                    "/v1/sync/push",
                    headers=writer,
                    json={"device_id": writer_device, "mutations": muts, "device_time": datetime.now(UTC).isoformat()},
                )
                prof.enable()
                r = await c.get("/v1/sync/pull", params={"cursor": cursor}, headers=h)
                prof.disable()
                cursor = r.json()["cursor"]
                if k < 5:
                    print(r.headers.get("server-timing"), len(r.json()["changes"]))
        elif path == "first":
            prof.enable()
            for _ in range(n):
                r = await c.post(
                    "/v1/auth/token",
                    data={
                        "grant_type": "password",
                        "username": users[USER_INDEX],
                        "password": "ongi-demo",
                        "device_id": uuid.uuid4().hex,
                    },
                )
                h = {"Authorization": f"Bearer {r.json()['access_token']}"}
                await full()
            prof.disable()
        else:
            households = [x for x in changes if x["entity"] == "household"]
            visits = [x for x in changes if x["entity"] == "visit" and x["data"].get("household_id")]
            prof.enable()
            for k in range(n):
                muts = []
                for i in range(MUTATIONS):
                    if i % 2 and visits:
                        v = visits[i % len(visits)]
                        muts.append(
                            {
                                "mutation_id": str(uuid.uuid4()),
                                "entity": "note",
                                "op": "upsert",
                                "id": str(uuid.uuid4()),
                                "data": {"visit_id": v["id"], "body": "기록", "kind": "observation", "internal": False},
                            }
                        )
                    else:
                        hh = households[i % len(households)]
                        muts.append(
                            {
                                "mutation_id": str(uuid.uuid4()),
                                "entity": "household",
                                "op": "patch",
                                "id": hh["id"],
                                "base_version": None,
                                "data": {"living_situation": f"{k}-{i}"},
                            }
                        )
                r = await c.post(
                    "/v1/sync/push",
                    headers=h,
                    json={"device_id": device, "mutations": muts, "device_time": datetime.now(UTC).isoformat()},
                )
                print(r.status_code, r.headers.get("server-timing"), {x["status"] for x in r.json().get("results", [])})
            prof.disable()
        took = time.perf_counter() - t
        print(f"{path}: {n} in {took:.2f}s = {took / n * 1000:.2f} ms each")
    await app.state.ongi.engine.dispose()
    prof.report()


class Prof:
    """cProfile, or pyinstrument (``--pyinstrument``; async-aware, ``pip install pyinstrument``)."""

    def __init__(self, use_pyinstrument: bool | None) -> None:
        self.off = use_pyinstrument is None
        if use_pyinstrument:
            from pyinstrument import Profiler

            self.p: Any = Profiler(async_mode="enabled", interval=0.0005)
        else:
            self.p = cProfile.Profile()
        self.pyinstrument = use_pyinstrument

    def enable(self) -> None:
        if self.off:
            return
        self.p.start() if self.pyinstrument else self.p.enable()

    def disable(self) -> None:
        if self.off:
            return
        self.p.stop() if self.pyinstrument else self.p.disable()

    def report(self) -> None:
        if self.off:
            return
        if self.pyinstrument:
            print(self.p.output_text(unicode=False, color=False, show_all=False))
            return
        stats = pstats.Stats(self.p).sort_stats("cumulative")
        stats.print_stats(35)
        pstats.Stats(self.p).sort_stats("tottime").print_stats(25)
        if os.environ.get("PROFILE_APP"):  # the app's own functions by cumulative time (where the time starts)
            pstats.Stats(self.p).sort_stats("cumulative").print_stats(r"/app/", 40)
        for pattern in os.environ.get("PROFILE_CALLERS", "").split(","):  # e.g. PROFILE_CALLERS=uuid4,raw_decode
            if pattern:
                pstats.Stats(self.p).sort_stats("tottime").print_callers(pattern)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("path", choices=["empty", "first", "push", "partial", "sift"])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--pyinstrument", action="store_true", help="async-aware sampling profiler")
    ap.add_argument("--plain", action="store_true", help="no profiler: timings only")
    args = ap.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="ongi-prof-"))
    os.environ.setdefault("ONGI_LOG_LEVEL", "WARNING")
    asyncio.run(main(args.path, args.n, data, None if args.plain else args.pyinstrument))
