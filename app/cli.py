"""Command line: ``python -m app --help`` (docs/operations.md).

Every command that builds its own sessions registers the unit of work's hooks first (:func:`app.journal.install`);
the others go through ``create_app()``, which does it.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from app.core.config import get_settings

cli = typer.Typer(help="Ongi (온기) service commands", no_args_is_help=True, add_completion=False)


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


@cli.command()
def migrate() -> None:
    """Apply database migrations (alembic upgrade heads)."""
    from app import registry
    from app.core.db import create_engine
    from app.migrate import upgrade

    async def go() -> None:
        registry.import_models()
        engine = create_engine(get_settings())
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    _run(go())
    typer.echo("database is up to date")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(envvar="ONGI_HOST", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="ONGI_PORT", help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(envvar="ONGI_WORKERS", help="API processes (one per core)")] = 1,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="apply migrations before serving (one process only)")
    ] = False,
) -> None:
    """Serve the API with uvicorn as in production: JSON logs, no access log, the client's address decided by
    the app (ONGI_TRUSTED_PROXIES), metrics added up across the workers."""
    import os
    import shutil

    import uvicorn

    if migrate_first:
        migrate()
    settings = get_settings()
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Every worker writes its metrics here and /metrics adds them up; emptied before they start.
        metrics_dir = settings.data_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    log_config = Path(__file__).resolve().parent / "core" / "uvicorn_log.json"
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        access_log=False,
        log_config=str(log_config) if log_config.exists() else None,
    )


@cli.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(help="login name")],
    organization: Annotated[str, typer.Option(help="organization name (created if missing)")],
    jurisdiction: Annotated[str, typer.Option(help="comma-separated district/dong codes")] = "",
    kind: Annotated[str, typer.Option(help="public or private")] = "public",
    display_name: Annotated[str, typer.Option()] = "Administrator",
    password: Annotated[str | None, typer.Option(help="omit to be asked (or set ONGI_ADMIN_PASSWORD)")] = None,
) -> None:
    """Create the first administrator (and their organization)."""
    import os

    from sqlalchemy import select
    from sqlmodel import col

    from app import journal, registry
    from app.auth.models import Organization, User
    from app.core.db import create_engine, create_sessionmaker
    from app.core.principal import OrgKind, Role
    from app.core.security import Security
    from app.core.uow import open_session

    secret = password or os.environ.get("ONGI_ADMIN_PASSWORD") or getpass.getpass("password: ")
    if len(secret) < 8:
        raise typer.BadParameter("the password needs 8 or more characters")
    settings = get_settings()

    async def go() -> None:
        registry.import_models()
        journal.install()
        engine = create_engine(settings)
        try:
            async with open_session(create_sessionmaker(engine), write=True) as session:
                org = (
                    await session.execute(select(Organization).where(col(Organization.name) == organization))
                ).scalar_one_or_none()
                if org is None:
                    codes = [c.strip() for c in jurisdiction.split(",") if c.strip()]
                    org = Organization(name=organization, kind=OrgKind(kind), jurisdiction=codes)
                    session.add(org)
                    await session.flush()
                if (await session.execute(select(User).where(col(User.username) == username))).first():
                    raise typer.BadParameter(f"user {username!r} exists")
                session.add(
                    User(
                        organization_id=org.id,
                        username=username,
                        display_name=display_name,
                        role=Role.admin,
                        password_hash=Security(settings).hash_password_sync(secret),
                    )
                )
        finally:
            await engine.dispose()

    _run(go())
    typer.echo(f"admin {username!r} created")


@cli.command("seed-demo")
def seed_demo() -> None:
    """Seed the demo district (a small winter district) and print its logins (refused in production)."""
    from app import journal, registry
    from app.core.db import create_engine, create_sessionmaker
    from app.core.security import Security
    from app.demo.generator import seed_demo as seed
    from app.demo.seed import DEMO_PASSWORD
    from app.media.storage import create_storage

    settings = get_settings()
    if not settings.demo_enabled:
        typer.echo("demo seeding is off (ONGI_DEMO=0 or production)")
        return

    async def go() -> object:
        registry.import_models()
        journal.install()
        engine = create_engine(settings)
        storage = create_storage(settings)
        try:
            stats = await seed(create_sessionmaker(engine), Security(settings), storage=storage)
            from app.ops.jobs import analyze_sqlite

            await analyze_sqlite(engine)  # the bulk-loaded district gets its planner statistics at once
            return stats
        finally:
            await storage.close()
            await engine.dispose()

    stats = _run(go())
    typer.echo(f"\nDemo logins (password: {DEMO_PASSWORD})")
    for username, role, org in stats.logins:  # type: ignore[attr-defined]
        typer.echo(f"  {username:<12} {role:<12} {org}")


@cli.command("purge-audit")
def purge_audit() -> None:
    """Delete audit events older than ONGI_AUDIT_RETENTION_DAYS (the worker also does it daily)."""
    from app import journal, registry
    from app.audit.service import purge_expired
    from app.core.db import create_engine, create_sessionmaker
    from app.core.uow import open_session

    settings = get_settings()

    async def go() -> int:
        registry.import_models()
        journal.install()
        engine = create_engine(settings)
        try:
            async with open_session(create_sessionmaker(engine), write=True) as session:
                return await purge_expired(session, settings)
        finally:
            await engine.dispose()

    typer.echo(f"deleted {_run(go())} audit events older than {settings.audit_retention_days} days")


@cli.command("destroy-expired")
def destroy_expired() -> None:
    """Destroy the personal data of households past retention, once (the worker also does it hourly)."""
    from app.lifecycle.service import destroy_expired as run_round
    from app.main import create_app

    async def go() -> int:
        state = create_app().state.ongi
        try:
            await state.start()
            return await run_round(state, job="cli:destroy-expired")
        finally:
            await state.stop()

    typer.echo(f"destroyed the personal data of {_run(go())} household(s) past retention (see GET /v1/destructions)")


@cli.command()
def openapi(out: Annotated[Path, typer.Option(help="where to write")] = Path("openapi/openapi.json")) -> None:
    """Write the OpenAPI document the app serves."""
    from app.main import create_app

    doc = create_app().openapi()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    typer.echo(f"wrote {out}")


def _mount_subcommands() -> None:
    """Commands other domains offer: ``worker`` (outbox delivery, cleanup, monitoring) and
    ``integrations import`` (an office's CSV/XLSX crisis list)."""
    import importlib

    # ``worker`` is one command (``python -m app worker [--once] [--job NAME]``), not a group: a Typer app
    # with a single command mounted as a group would ask for that command's name ("Missing command").
    from app.worker import main as worker_main

    cli.command("worker", help="Run the background jobs: outbox delivery, cleanup, monitoring, retention.")(worker_main)
    for module_name, attr, name in (("app.integrations.cli", "cli", "integrations"),):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        sub = getattr(module, attr, None)
        if sub is not None:
            cli.add_typer(sub, name=name)


_mount_subcommands()

if __name__ == "__main__":
    cli()
