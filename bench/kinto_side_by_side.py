"""Ongi beside Kinto, the recognised sync server in Python, on one PostgreSQL cluster (issue 20, benchmark 1).

``python -m bench.kinto_side_by_side --postgres postgresql://ongi@127.0.0.1:55433/postgres [--phones 50]``
``[--seconds 20]``

Kinto (26.5, from PyPI, installed by this script into its own environment under ``~/.cache/ongi-kinto-venv``, or
``$ONGI_KINTO_VENV``: never part of this repository) runs under gunicorn with 2 workers; Ongi under uvicorn with 2
workers, each on a database of its own on the same server. Both get the same phone workload, over loopback:

1. **seed**: 5,000 records in batches of 25 (Kinto: ``POST /v1/batch`` of 25 creates; Ongi: ``POST /v1/sync/push``
   of 25 new notes on one joint visit): records/s.
2. **first sync**: a new phone pulls everything (about 5,000 records) in pages of 100: seconds.
3. **50 phones for 20 s**: each phone, in a loop, pushes 5 records, then pulls what changed since its last pull
   (Kinto: ``GET …/records?_since=<etag>``; Ongi: ``GET /v1/sync/pull?cursor=…``). Records pushed per second,
   pull p50/p99, errors, timeouts (a request over 10 s). Every Ongi phone is on the same visit team (one shared
   scope, the case the issue is about); before the clock each phone makes its first sync (timed, reported).
   Beside the rates, the CPU seconds the loop cost each server (its processes, and the PostgreSQL server's,
   counting the backends that closed during the loop) and the phones (this process), and records pushed per
   server CPU second: on two shared cores the phones take about a core themselves, so the wall-clock rate is
   bound by the machine, while the rate per server CPU second is what a server with a machine of its own would
   reach.

Ongi on SQLite is reported beside (``--sqlite``, one uvicorn worker: SQLite has one writer). The loops are
bounded by the clock; every server listens on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench._support import (
    QUICK_ARGON2,
    cpu_seconds,
    free_port,
    pg_admin,
    pg_cluster_cpu_seconds,
    tree_pids,
    uvicorn_command,
)

ROOT = Path(__file__).resolve().parent.parent
KINTO_VERSION = "26.5.0"
# in the user's own cache, not a fixed name in the shared /tmp (where another user could make it first)
KINTO_VENV = Path(os.environ.get("ONGI_KINTO_VENV") or Path.home() / ".cache" / "ongi-kinto-venv")
#: The password of the Ongi users this run seeds (new each run: the accounts live as long as its scratch database).
PASSWORD = secrets.token_urlsafe(18)
TIMEOUT = 10.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def with_database(url: str, name: str, driver: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername=driver, database=name).render_as_string(hide_password=False)


async def run_checked(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run a command to its end without holding up the event loop; its output is kept and shown if it fails."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)


#: Where each process :func:`spawn` started writes its output.
_LOGS: weakref.WeakKeyDictionary[subprocess.Popen[str], Path] = weakref.WeakKeyDictionary()


def spawn(cmd: list[str], *, log: Path, **popen: Any) -> subprocess.Popen[str]:
    """Start a server process and return at once (``Popen`` only forks and execs). Nothing here waits on it from
    async code: :func:`wait_up` polls it, and :func:`stop` ends it, from a thread. Its output (stdout and stderr)
    is appended to ``log``: a pipe nobody reads fills at 64 KiB and stalls the server that writes to it."""
    with log.open("a", encoding="utf-8") as out:  # the child keeps a descriptor of its own
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, **popen)
    _LOGS[proc] = log
    return proc


def wait_up(url: str, proc: subprocess.Popen[str], what: str) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            log = _LOGS.get(proc)
            raise RuntimeError(f"{what} exited: {log.read_text(encoding='utf-8')[-4000:] if log else ''}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def stop(proc: subprocess.Popen[Any] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- Kinto ---------------------------------------------------------------------------------------------------


def ensure_kinto() -> Path:
    """Kinto from PyPI in its own virtual environment (made once; never inside the repository)."""
    py = KINTO_VENV / "bin" / "python"
    ok = (
        py.exists()
        and subprocess.run(
            [str(py), "-c", f"import kinto, sys; sys.exit(kinto.__version__ != '{KINTO_VERSION}')"], capture_output=True
        ).returncode
        == 0
    )
    if not ok:
        subprocess.run([sys.executable, "-m", "venv", str(KINTO_VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", f"kinto[postgresql]=={KINTO_VERSION}", "gunicorn"], check=True
        )
    return KINTO_VENV / "bin"


KINTO_INI = """\
[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.postgresql
kinto.storage_url = {url}
kinto.storage_pool_size = 10
kinto.permission_backend = kinto.core.permission.postgresql
kinto.permission_url = {url}
kinto.permission_pool_size = 10
kinto.cache_backend = kinto.core.cache.postgresql
kinto.cache_url = {url}
kinto.cache_pool_size = 5
kinto.userid_hmac_secret = {secret}
kinto.bucket_create_principals = system.Authenticated
multiauth.policies = basicauth
kinto.paginate_by = 100

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {port}

[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = plain
[logger_root]
level = WARNING
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = WARNING
formatter = plain
[formatter_plain]
format = %(message)s
"""


class KintoPhone:
    def __init__(self, http: httpx.AsyncClient, n: int) -> None:
        self.http = http
        self.auth = (f"phone{n}", "secret")
        self.since: str | None = None

    async def push(self, records: list[dict[str, Any]]) -> int:
        body = {
            "defaults": {"method": "POST", "path": "/buckets/ongi/collections/notes/records"},
            "requests": [{"body": {"data": r}} for r in records],
        }
        r = await self.http.post("/v1/batch", json=body, auth=self.auth)
        r.raise_for_status()
        statuses = [x["status"] for x in r.json()["responses"]]
        if any(s >= 400 for s in statuses):
            raise RuntimeError(f"kinto batch: {statuses}")
        return len(records)

    async def pull(self, limit: int = 100) -> int:
        """Everything since the last pull, following Next-Page; the newest timestamp becomes ``since``."""
        params: dict[str, Any] = {"_limit": limit, "_sort": "last_modified"}
        if self.since:
            params["_since"] = self.since
        url: str | None = "/v1/buckets/ongi/collections/notes/records"
        n, newest = 0, self.since
        first = True
        while url:
            r = await self.http.get(url, params=params if first else None, auth=self.auth)
            first = False
            r.raise_for_status()
            items = r.json()["data"]
            n += len(items)
            if items:
                newest = str(max(int(x["last_modified"]) for x in items))
            nxt = r.headers.get("Next-Page")
            url = nxt.replace(str(self.http.base_url).rstrip("/"), "") if nxt else None
        if newest is None:
            newest = (r.headers.get("ETag") or '"0"').strip('"')
        self.since = newest
        return n


async def kinto_setup(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        auth = ("owner", "secret")
        r = await http.put("/v1/buckets/ongi", json={"permissions": {"read": ["system.Authenticated"]}}, auth=auth)
        r.raise_for_status()
        r = await http.put(
            "/v1/buckets/ongi/collections/notes",
            json={"permissions": {"record:create": ["system.Authenticated"], "read": ["system.Authenticated"]}},
            auth=auth,
        )
        r.raise_for_status()


def note_record(i: int) -> dict[str, Any]:
    return {"body": f"방문 기록 {i}: 난방 상태 확인, 식사 여부 확인", "kind": "observation"}


# --- Ongi ------------------------------------------------------------------------------------------------------


class OngiPhone:
    def __init__(self, http: httpx.AsyncClient, username: str, visit_id: str) -> None:
        self.http, self.username, self.visit_id = http, username, visit_id
        self.device_id = f"bench-{uuid.uuid4().hex[:10]}"
        self.token = ""
        self.cursor: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def login(self) -> None:
        r = await self.http.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": self.username,
                "password": PASSWORD,
                "device_id": self.device_id,
            },
        )
        r.raise_for_status()
        self.token = r.json()["access_token"]

    async def push(self, records: list[dict[str, Any]]) -> int:
        now = datetime.now(UTC).isoformat()
        muts = [
            {
                "mutation_id": str(uuid.uuid4()),
                "entity": "note",
                "op": "upsert",
                "id": str(uuid.uuid4()),
                "base_version": None,
                "at": now,
                "data": {"visit_id": self.visit_id, "internal": False, **rec},
            }
            for rec in records
        ]
        r = await self.http.post(
            "/v1/sync/push",
            headers=self.headers,
            json={"device_id": self.device_id, "device_time": now, "mutations": muts},
        )
        r.raise_for_status()
        bad = [x for x in r.json()["results"] if x["status"] != "applied"]
        if bad:
            raise RuntimeError(f"ongi push: {bad[:2]}")
        return len(records)

    async def pull(self, limit: int = 100) -> int:
        n = 0
        for _ in range(10_000):
            params: dict[str, Any] = {"limit": limit}
            if self.cursor:
                params["cursor"] = self.cursor
            r = await self.http.get("/v1/sync/pull", params=params, headers=self.headers)
            r.raise_for_status()
            body = r.json()
            n += len(body["changes"])
            self.cursor = body["cursor"]
            if not body["has_more"]:
                break
        return n


async def ongi_seed_people(env: dict[str, str], phones: int) -> tuple[list[str], str]:
    """An organization, ``phones + 1`` planners on one joint visit, through the app's own factories."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from app.core.config import Settings
    from app.core.principal import Role
    from app.main import create_app
    from tests.support.factories import Factory, make_household, make_visit

    app = create_app(Settings())
    state = app.state.ongi
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://seed") as c:
            f = Factory(state, state.sessionmaker, c)
            org = await f.org()
            users = [await f.user(Role.planner, org, password=PASSWORD) for _ in range(phones + 1)]
            home = await make_household(f)
            visit = await make_visit(f, home, users)
            return [u.username for u in users], str(visit.id)
    finally:
        await state.engine.dispose()


# --- the workload ------------------------------------------------------------------------------------------------


async def seed(phone: Any, total: int, batch: int) -> float:
    t = time.perf_counter()
    for start in range(0, total, batch):
        await phone.push([note_record(i) for i in range(start, min(total, start + batch))])
    return total / (time.perf_counter() - t)


async def first_sync(phone: Any) -> tuple[float, int]:
    t = time.perf_counter()
    n = await phone.pull(limit=100)
    return time.perf_counter() - t, n


async def load(
    phones: list[Any], seconds: float, server: subprocess.Popen[Any], pg: str | None, database: str | None
) -> dict[str, Any]:
    """The phones' loop for ``seconds``; besides the rates, the CPU seconds it cost the server (its processes and,
    on PostgreSQL, the PostgreSQL server's, :func:`bench._support.pg_cluster_cpu_seconds`) and the phones (this
    process): on two shared cores the phones take a core of their own, so records per server CPU second is the
    rate a machine of the server's own would see."""
    pulls: list[float] = []
    pushed = errors = timeouts = 0
    deadline = time.perf_counter() + seconds

    async def run(phone: Any) -> None:
        nonlocal pushed, errors, timeouts
        k = 0
        while time.perf_counter() < deadline:
            k += 1
            try:
                # awaited first, added after: ``pushed += await …`` reads ``pushed`` before the await and loses
                # the other phones' additions made meanwhile
                sent = await phone.push([note_record(k * 10 + i) for i in range(5)])
                pushed += sent
                t = time.perf_counter()
                await phone.pull(limit=500)
                pulls.append((time.perf_counter() - t) * 1000)
            except httpx.TimeoutException:
                timeouts += 1
            except (httpx.HTTPError, RuntimeError):
                errors += 1
                await asyncio.sleep(0.05)

    async def db_cpu_now() -> float:
        return await pg_cluster_cpu_seconds(pg) if pg and database else 0.0

    app_before, db_before, phones_before = cpu_seconds(tree_pids(server.pid)), await db_cpu_now(), time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(run(p) for p in phones))
    took = time.perf_counter() - t0
    db_cpu = await db_cpu_now() - db_before
    app_cpu = cpu_seconds(tree_pids(server.pid)) - app_before
    server_cpu = app_cpu + db_cpu
    return {
        "pushed_per_s": pushed / took,
        "server_cpu_s": server_cpu,
        "app_cpu_s": app_cpu,
        "db_cpu_s": db_cpu,
        "pushed_per_cpu_s": pushed / server_cpu if server_cpu else 0.0,
        "phones_cpu_s": time.process_time() - phones_before,
        "pull_p50_ms": pct(pulls, 0.5),
        "pull_p99_ms": pct(pulls, 0.99),
        "pulls": len(pulls),
        "errors": errors,
        "timeouts": timeouts,
    }


async def run_kinto(pg: str, args: argparse.Namespace) -> dict[str, Any]:
    bin_dir = await asyncio.to_thread(ensure_kinto)  # a pip install the first time
    name = f"kinto_bench_{uuid.uuid4().hex[:8]}"
    await pg_admin(pg, f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="ongi-kinto-"))
    port = free_port()
    ini = tmp / "kinto.ini"
    ini.write_text(
        KINTO_INI.format(url=with_database(pg, name, "postgresql"), secret=secrets.token_hex(16), port=port),
        encoding="utf-8",
    )
    proc = None
    out: dict[str, Any] = {}
    try:
        await run_checked([str(bin_dir / "kinto"), "migrate", "--ini", str(ini)])
        proc = spawn(
            [
                str(bin_dir / "gunicorn"),
                "--paste",
                str(ini),
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            log=tmp / "gunicorn.log",
        )
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_up, base + "/v1/__heartbeat__", proc, "kinto")
        await kinto_setup(base)
        limits = httpx.Limits(max_connections=args.phones + 10)
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, limits=limits) as http:
            out["seed_rps"] = await seed(KintoPhone(http, 0), args.records, 25)
            out["first_sync_s"], out["first_sync_n"] = await first_sync(KintoPhone(http, 1))
            phones = [KintoPhone(http, n + 2) for n in range(args.phones)]
            t = time.perf_counter()
            await asyncio.gather(*(p.pull(limit=1000) for p in phones))
            out["phones_first_sync_s"] = time.perf_counter() - t
            out.update(await load(phones, args.seconds, proc, pg, name))
    finally:
        await asyncio.to_thread(stop, proc)
        await pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return out


async def run_ongi(db: str, pg: str | None, args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="ongi-bench-kinto-"))
    env = {
        "ONGI_DATA_DIR": str(data),
        "ONGI_DEMO": "0",
        "ONGI_LOG_LEVEL": "WARNING",
        "ONGI_ENV": "development",
        **QUICK_ARGON2,
        "PYTHONPATH": str(ROOT),
    }
    name = None
    workers = 2
    if db == "postgres":
        assert pg
        name = f"ongi_bench_{uuid.uuid4().hex[:8]}"
        await pg_admin(pg, f'CREATE DATABASE "{name}"')
        env["ONGI_DATABASE_URL"] = with_database(pg, name, "postgresql+asyncpg")
        env["ONGI_DATABASE_POOL_SIZE"] = "10"
    else:
        env["ONGI_DATABASE_URL"] = f"sqlite+aiosqlite:///{data / 'ongi.db'}"
        workers = 1
    full_env = {**os.environ, **env}
    proc = None
    out: dict[str, Any] = {"workers": workers}
    try:
        await run_checked([sys.executable, "-m", "app", "migrate"], env=full_env, cwd=ROOT)
        users, visit_id = await ongi_seed_people(env, args.phones + 1)
        port = free_port()
        proc = spawn(
            uvicorn_command("127.0.0.1", port, workers=workers), log=data / "uvicorn.log", env=full_env, cwd=ROOT
        )
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_up, base + "/healthz", proc, "ongi")
        limits = httpx.Limits(max_connections=args.phones + 10)
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, limits=limits) as http:
            seeder = OngiPhone(http, users[0], visit_id)
            await seeder.login()
            out["seed_rps"] = await seed(seeder, args.records, 25)
            reader = OngiPhone(http, users[1], visit_id)
            await reader.login()
            out["first_sync_s"], out["first_sync_n"] = await first_sync(reader)
            phones = [OngiPhone(http, u, visit_id) for u in users[2 : 2 + args.phones]]
            for p in phones:
                await p.login()
            t = time.perf_counter()
            sem = asyncio.Semaphore(10)

            async def first(p: OngiPhone) -> None:
                async with sem:
                    await p.pull(limit=1000)

            await asyncio.gather(*(first(p) for p in phones))
            out["phones_first_sync_s"] = time.perf_counter() - t
            out.update(await load(phones, args.seconds, proc, pg, name))
    finally:
        await asyncio.to_thread(stop, proc)
        if name and pg:
            await pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return out


ROWS = [
    ("seed_rps", "seed {records:,} records in batches of 25: records/s", "{:.0f}", "ge"),
    ("first_sync_s", "first full sync, pages of 100: s", "{:.2f}", "le"),
    ("phones_first_sync_s", "{phones} phones' first syncs before the clock: s", "{:.1f}", "le"),
    ("pushed_per_s", "{phones} phones for {seconds:.0f} s: records pushed/s", "{:.0f}", "ge"),
    ("server_cpu_s", "{phones} phones: server CPU (app and database processes): s", "{:.1f}", "info"),
    ("app_cpu_s", "{phones} phones: of which the app's processes: s", "{:.1f}", "info"),
    ("db_cpu_s", "{phones} phones: of which the PostgreSQL server: s", "{:.1f}", "info"),
    ("pushed_per_cpu_s", "{phones} phones: records pushed per server CPU second", "{:.0f}", "ge"),
    ("phones_cpu_s", "{phones} phones: the phones' own CPU (this process): s", "{:.1f}", "info"),
    ("pull_p50_ms", "{phones} phones: pull p50 ms", "{:.0f}", "le"),
    ("pull_p99_ms", "{phones} phones: pull p99 ms", "{:.0f}", "le"),
    ("errors", "{phones} phones: errors", "{:.0f}", "info"),
    ("timeouts", "{phones} phones: timeouts (> 10 s)", "{:.0f}", "info"),
]


def table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    cols = list(results)
    lines = ["| | " + " | ".join(cols) + " |", "| --- " * (len(cols) + 1) + "|"]
    kinto = results.get("Kinto (PostgreSQL)")
    for key, label, fmt, better in ROWS:
        cells = []
        for col in cols:
            v = results[col].get(key)
            cell = fmt.format(v) if isinstance(v, (int, float)) else "—"
            if (
                better != "info"
                and kinto
                and col != "Kinto (PostgreSQL)"
                and isinstance(v, (int, float))
                and kinto.get(key)
            ):
                ratio = v / kinto[key] if better == "ge" else kinto[key] / v if v else float("inf")
                cell += f" ({ratio:.1f}× Kinto's)" if better == "ge" else f" ({ratio:.2f}× as fast)"
            cells.append(cell)
        lines.append(
            f"| {label.format(records=args.records, phones=args.phones, seconds=args.seconds)} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", default=os.environ.get("ONGI_BENCH_POSTGRES_URL"), help="an admin URL of the server")
    ap.add_argument("--phones", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--sqlite", action="store_true", help="also Ongi on SQLite (one worker)")
    ap.add_argument("--skip-kinto", action="store_true")
    args = ap.parse_args()
    if not args.postgres:
        ap.error("--postgres (or ONGI_BENCH_POSTGRES_URL) names the PostgreSQL server")
    results: dict[str, dict[str, Any]] = {}
    if not args.skip_kinto:
        results["Kinto (PostgreSQL)"] = await run_kinto(args.postgres, args)
        print("kinto", results["Kinto (PostgreSQL)"], flush=True)
    results["Ongi (PostgreSQL)"] = await run_ongi("postgres", args.postgres, args)
    print("ongi postgres", results["Ongi (PostgreSQL)"], flush=True)
    if args.sqlite:
        results["Ongi (SQLite)"] = await run_ongi("sqlite", None, args)
        print("ongi sqlite", results["Ongi (SQLite)"], flush=True)
    print(table(results, args))


if __name__ == "__main__":
    asyncio.run(main())
