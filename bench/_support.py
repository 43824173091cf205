"""What the benchmarks in ``bench/`` share (docs/performance.md): scratch databases, the app in-process, a
server on loopback, and memory read from ``/proc``.

Every benchmark runs from the repository root as ``.venv/bin/python -m bench.<name>``; nothing here changes
``sys.path``. Two ways to drive the service:

* in-process: :func:`scratch_app` makes a scratch database (a SQLite file in a temporary folder, or a database of
  its own on the PostgreSQL server an admin URL names, dropped at the end), migrates it and yields the app and its
  state; :func:`asgi_client` talks to it through httpx's ASGI transport (no network: the figures are the server's
  own work);
* as in production: :func:`serve` starts uvicorn on a free loopback port with an environment of ``ONGI_…``
  settings, waits for ``/healthz`` and stops it at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
#: The password of the throwaway users the benchmarks seed into scratch databases.
PASSWORD = "bench-password-0123456789"  # noqa: S105 - a throwaway login in a scratch database


# --- processes and memory ---------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kib(pid: int, field: str) -> int:
    """One field of ``/proc/<pid>/status`` in KiB (``VmRSS``, ``RssAnon``, …)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def worker_pids(pid: int) -> list[int]:
    """The children of a process (uvicorn's workers), or the process itself when it has none."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()] or [pid]
    except OSError:
        return [pid]


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), MiB."""
    total = 0
    pids = [pid]
    with suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            total += status_kib(p, "VmRSS")
        except (OSError, KeyError):
            continue
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` used so far; a process gone counts nothing."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def tree_pids(pid: int) -> list[int]:
    """A process and its children (a server's master and workers)."""
    try:
        return [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    except OSError:
        return [pid]


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()


async def pg_cluster_cpu_seconds(admin_url: str) -> float:
    """CPU seconds (user + system) the whole PostgreSQL server used so far: the postmaster, its live children
    (backends, autovacuum, writers) and the children it has reaped (a backend whose connection closed: a pool's
    overflow connections come and go under load, taking their CPU with them from any list of backends read
    before or after). The server runs on this host."""
    async with _admin_connection(admin_url) as conn:  # read while the backend lives
        postmaster = int(_stat_fields(int(await conn.fetchval("SELECT pg_backend_pid()")))[1])  # its parent's pid
    return _tree_cpu_with_reaped(postmaster)


def _tree_cpu_with_reaped(pid: int) -> float:
    fields = _stat_fields(pid)
    own = sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime
    return own + cpu_seconds([c for c in tree_pids(pid) if c != pid])


def self_rss_mib() -> float:
    """Resident memory of this process, MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- databases --------------------------------------------------------------------------------------------------


@asynccontextmanager
async def _admin_connection(admin_url: str) -> AsyncIterator[Any]:
    """An asyncpg connection to the server ``admin_url`` names (its database, else ``postgres``)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    conn = await asyncpg.connect(
        user=u.username,
        password=u.password,
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        database=u.database or "postgres",
    )
    try:
        yield conn
    finally:
        await conn.close()


async def pg_admin(admin_url: str, sql: str) -> None:
    """Run one statement (``CREATE DATABASE``, ``DROP DATABASE``) on the server ``admin_url`` names."""
    async with _admin_connection(admin_url) as conn:
        await conn.execute(sql)


@asynccontextmanager
async def scratch_database(postgres: str | None, data_dir: Path) -> AsyncIterator[str]:
    """The URL of an empty database: a SQLite file in ``data_dir``, or (``postgres``: an admin URL) a database of
    its own on that server, dropped on the way out."""
    if not postgres:
        yield f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
        return
    from sqlalchemy.engine import make_url

    name = f"ongi_bench_{uuid.uuid4().hex[:10]}"
    await pg_admin(postgres, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        await pg_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_app(postgres: str | None, prefix: str = "ongi-bench-", **settings: Any) -> AsyncIterator[Any]:
    """A migrated scratch database and the app on it (``create_app``); yields the app (its state is
    ``app.state.ongi``). ``settings`` are passed on to :class:`app.core.config.Settings`."""
    from app.core.config import Settings
    from app.main import create_app
    from app.migrate import upgrade

    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    async with scratch_database(postgres, data_dir) as url:
        options: dict[str, Any] = {"env": "test", "log_level": "WARNING", "demo": False, **settings}
        app = create_app(Settings(data_dir=data_dir, database_url=url, **options))
        state = app.state.ongi
        try:
            await upgrade(state.engine)
            yield app
        finally:
            await state.engine.dispose()


def asgi_client(app: Any, timeout: float = 600) -> Any:
    """An ``httpx.AsyncClient`` that calls ``app`` in-process."""
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=timeout)


async def bearer(client: Any, username: str, password: str = PASSWORD, **form: str) -> dict[str, str]:
    """Log in with the password grant (``form``: ``device_id`` …) and return the ``Authorization`` header."""
    r = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": username, "password": password, **form}
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# --- a server as in production ----------------------------------------------------------------------------------


#: Password hashing made cheap for benchmarks that log many phones in (the defaults take most of a second each).
QUICK_ARGON2 = {"ONGI_ARGON2_TIME_COST": "1", "ONGI_ARGON2_MEMORY_COST_KIB": "64", "ONGI_ARGON2_PARALLELISM": "1"}


def uvicorn_command(host: str, port: int, *, workers: int = 1, log_level: str = "warning") -> list[str]:
    """The command line of one benchmarked API server (``create_app`` under uvicorn, no access log)."""
    return [PY, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", host, "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--log-level", log_level]  # fmt: skip


def bench_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a benchmarked server: this one, plus a data directory, no demo, warnings only."""
    env = {
        **os.environ,
        "ONGI_DATA_DIR": str(data_dir),
        "ONGI_DEMO": "0",
        "ONGI_LOG_LEVEL": "WARNING",
        "ONGI_ENV": "development",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return env


def wait_healthy(base: str, *, tries: int = 300, pause: float = 0.05) -> None:
    """Wait until ``GET /healthz`` answers 200 (bounded)."""
    import httpx

    for _ in range(tries):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(pause)
    raise RuntimeError("server did not start")


def stop(server: subprocess.Popen[Any]) -> None:
    """Terminate a server, killing it when it does not stop within 20 s."""
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


@contextmanager
def serve(
    env: dict[str, str], *, workers: int = 1, extra_args: list[str] | None = None, **popen: Any
) -> Iterator[tuple[str, subprocess.Popen[Any]]]:
    """uvicorn with ``create_app`` on a free loopback port; yields (base URL, process) once it is healthy."""
    port = free_port()
    cmd = [*uvicorn_command("127.0.0.1", port, workers=workers), *(extra_args or [])]
    server = subprocess.Popen(cmd, env=env, cwd=ROOT, **popen)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        yield base, server
    finally:
        stop(server)


IMPORT_CLIENT_SECRET = "bench-client-secret-0123456789"  # noqa: S105 - a throwaway client in a scratch database


async def seed_import_client(state: Any, username: str = "bench-feed") -> None:
    """A public organization (district 11990) and its integration client holding ``households:import``,
    signing in with ``IMPORT_CLIENT_SECRET`` (the import benchmarks' caller)."""
    from app.auth.models import Organization, User
    from app.core.principal import OrgKind, Role
    from app.core.uow import open_session

    async with open_session(state.sessionmaker, write=True) as s:
        org = Organization(name="bench", kind=OrgKind.public, jurisdiction=["11990"])
        s.add(org)
        await s.flush()
        s.add(
            User(
                organization_id=org.id,
                username=username,
                display_name="bench",
                role=Role.integration,
                password_hash=state.security.hash_password_sync(IMPORT_CLIENT_SECRET),
                scopes=["households:import"],
            )
        )


class StatementTimer:
    """The wall milliseconds of each SQL statement the app runs, by its text (first ``width`` characters):
    :meth:`take` hands over what was timed since the last take. ``close`` stops listening."""

    def __init__(self, engine: Any, width: int | None = 160, key: Callable[[str], str] | None = None) -> None:
        from sqlalchemy import event

        self.times: dict[str, list[float]] = {}
        self._engine, self._event, self._width = engine.sync_engine, event, width
        #: what statements count as one (``key``: e.g. with their bound values taken out), else the text itself
        self._key = key or (lambda text: text)
        event.listen(self._engine, "before_cursor_execute", self._before)
        event.listen(self._engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed = (time.perf_counter() - conn.info["bench_started"].pop()) * 1000
        self.times.setdefault(self._key(" ".join(statement.split()))[: self._width], []).append(elapsed)

    def take(self) -> dict[str, list[float]]:
        taken, self.times = self.times, {}
        return taken

    def close(self) -> None:
        self._event.remove(self._engine, "before_cursor_execute", self._before)
        self._event.remove(self._engine, "after_cursor_execute", self._after)
