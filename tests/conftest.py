"""Test fixtures: a real database (SQLite file, or PostgreSQL with ``--db postgres``), real migrations,
per-test isolation by rolling back one outer transaction, and the app called through httpx.

PostgreSQL: ``ONGI_TEST_POSTGRES_URL`` names a server and a database to connect to for administration
(``postgresql+asyncpg://user@127.0.0.1:port/postgres``); each test run creates its own database and
drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import journal
from app.core.config import Settings
from app.core.db import WRITE_OPTION, create_engine
from app.main import create_app
from app.migrate import upgrade
from tests.support.factories import Factory


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default=os.environ.get("ONGI_TEST_DB", "sqlite"),
        help="database to test against (default: sqlite, or $ONGI_TEST_DB)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"ongi database: {config.getoption('--db')}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "postgres":
        skip = pytest.mark.skip(reason="PostgreSQL only (run with --db postgres)")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        user=u.username,
        password=u.password,
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        database=u.database or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if db_kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'ongi-test.db'}"
        return
    admin_url = os.environ.get("ONGI_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.exit("--db postgres needs ONGI_TEST_POSTGRES_URL", returncode=2)
    name = f"ongi_test_{uuid.uuid4().hex[:12]}"
    await _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 64,
        "argon2_parallelism": 1,
        "login_lockout_seconds": 1,
        "log_level": "WARNING",
        "database_pool_size": 5,
        "cors_origins": "https://console.ongi.example",  # a web console, as a deployment configures it
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", autouse=True)
def unit_of_work_hooks() -> None:
    """The unit of work's hooks, registered as ``create_app()`` does (for tests that build sessions without it)."""
    journal.install()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[object]:
    application = create_app(settings)
    yield application
    await application.state.ongi.engine.dispose()


@pytest.fixture
async def maker(app: object, engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Every session of the test (the app's and the test's own) runs inside one outer transaction that
    is rolled back at the end; the app's commits become savepoint releases."""
    state = app.state.ongi  # type: ignore[attr-defined]
    original = state.sessionmaker
    async with engine.connect() as conn:
        await conn.execution_options(**{WRITE_OPTION: True})
        outer = await conn.begin()
        test_maker = async_sessionmaker(
            bind=conn, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
        state.sessionmaker = test_maker
        try:
            yield test_maker
        finally:
            state.sessionmaker = original
            await outer.rollback()


@pytest.fixture
async def client(app: object, maker: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def factory(app: object, maker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient) -> Factory:
    return Factory(app.state.ongi, maker, client)  # type: ignore[attr-defined]
