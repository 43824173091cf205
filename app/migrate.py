"""Run Alembic programmatically (on start, in tests, from the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from app import registry

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


#: PostgreSQL advisory lock key held while migrating ("ongi" in ASCII), so that processes started together (API
#: replicas, a one-shot migration, the worker) migrate one after another: the second finds nothing left to do.
MIGRATION_LOCK_KEY = 0x6F6E6769


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    def _upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    postgres = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        if postgres:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await conn.commit()
        try:
            await conn.run_sync(_upgrade)
            await conn.commit()
        finally:
            if postgres:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                await conn.commit()


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    """What differs between the models and the migrated database (empty when they agree)."""
    registry.import_models()

    def _diff(connection: Connection) -> list[Any]:
        ctx = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(ctx, SQLModel.metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(_diff)
