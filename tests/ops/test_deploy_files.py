"""The production shape as files: the Dockerfile passes hadolint, compose.yaml is valid under the Compose
specification's schema, and it runs what the design asks (one one-shot migration before two API replicas that
never migrate, the worker, PostgreSQL and an S3-compatible store with health checks). No container engine runs
here, so the files are checked, not run; the commands they name are run (``python -m app serve|worker``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    if not found.exists():
        found_on_path = shutil.which(name)
        assert found_on_path, f"{name} is in requirements-dev.lock"
        return found_on_path
    return str(found)


def test_dockerfile_passes_hadolint() -> None:
    run = subprocess.run([_tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "USER 10001" in text
    assert 'ENTRYPOINT ["python", "-m", "app"]' in text
    assert "--proxy-headers" not in text


def test_compose_file_is_valid_and_has_the_production_shape() -> None:
    run = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    doc: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = doc["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    replicas = [name for name, svc in services.items() if svc.get("command") == ["serve"]]
    assert len(replicas) == 2
    for name in replicas:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in services[name]
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["environment"]["ONGI_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert services["api-1"]["environment"]["ONGI_STORAGE_BACKEND"] == "s3"
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["minio"]


@pytest.mark.parametrize("command", ["serve", "worker", "migrate"])
def test_the_commands_the_image_runs_exist(command: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "app", command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Usage: python -m app " + command in run.stdout


def test_the_worker_runs_one_round_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ONGI_DATA_DIR": str(tmp_path),
        "ONGI_ENV": "development",
        "ONGI_LOG_LEVEL": "INFO",
    }
    env.pop("ONGI_DATABASE_URL", None)
    for args in (["migrate"], ["worker", "--once"]):
        run = subprocess.run(
            [sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
        )
        assert run.returncode == 0, run.stdout + run.stderr
    assert "worker_stopped" in run.stdout + run.stderr


@pytest.mark.postgres_only
async def test_processes_started_together_migrate_one_after_another(tmp_path: Path) -> None:
    import asyncio
    import uuid

    from sqlalchemy.engine import make_url

    from app.core.db import create_engine
    from app.migrate import schema_drift, upgrade
    from tests.conftest import _pg_admin, make_settings

    admin = os.environ["ONGI_TEST_POSTGRES_URL"]
    name = f"ongi_migrate_{uuid.uuid4().hex[:10]}"
    await _pg_admin(admin, f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    engines = [create_engine(make_settings(url, tmp_path)) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        assert await schema_drift(engines[0]) == []
    finally:
        for engine in engines:
            await engine.dispose()
        await _pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
