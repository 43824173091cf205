"""A real service for fault tests: its own database (committed for real) and uvicorn in a subprocess on
127.0.0.1, which a test may kill and start again. Everything is bounded and cleaned up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from app.core.db import create_engine
from app.migrate import upgrade
from tests.conftest import _pg_admin

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def live_database(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    from tests.conftest import make_settings

    name = f"ongi_live_{uuid.uuid4().hex[:10]}"
    if db_kind == "postgres":
        admin = os.environ["ONGI_TEST_POSTGRES_URL"]
        await _pg_admin(admin, f'CREATE DATABASE "{name}"')
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    engine = create_engine(make_settings(url, tmp_path))
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        if db_kind == "postgres":
            await _pg_admin(os.environ["ONGI_TEST_POSTGRES_URL"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def own_app(db_kind: str, tmp_path: Path, **overrides: object) -> AsyncIterator[Any]:
    """An app in this process on a database of its own, committing for real (the suite's rolled-back outer
    transaction hides what concurrency and commits cost)."""
    from app.main import create_app
    from tests.conftest import make_settings

    async with live_database(db_kind, tmp_path) as url:
        app = create_app(make_settings(url, tmp_path, **overrides))
        try:
            yield app
        finally:
            await app.state.ongi.engine.dispose()


class LiveServer:
    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = args
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ONGI_DATABASE_URL": database_url,
            "ONGI_DATA_DIR": str(data_dir),
            "ONGI_ENV": "test",
            "ONGI_LOG_LEVEL": "WARNING",
            "ONGI_ARGON2_TIME_COST": "1",
            "ONGI_ARGON2_MEMORY_COST_KIB": "64",
            "ONGI_ARGON2_PARALLELISM": "1",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
                *self.args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("live server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
