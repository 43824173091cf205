"""Clients generated from the OpenAPI document, unmodified, against a live server (issue 14 item 4).

- openapi-python-client (in its own tool venv, ``.venv-tools/``, installed from the hash-locked
  ``tools/clients/requirements-openapi-python-client.lock``: its typer pin conflicts with the app's) generates
  a package into a temporary folder; ``tools/clients/python_client_check.py`` drives it: login, visits with a
  filter, a 404 parsed as ``Problem``, a 422 parsed as ``ValidationProblem``, pull, push, refresh.
- openapi-typescript generates types, ``tsc --strict`` checks ``tools/clients/ts/src/main.ts`` (openapi-fetch:
  the 404's error branch narrows to ``Problem``, a 422's ``detail`` is a string), and node 20 runs it: login,
  visits, the 404, the 422, pull, push.

Both use the document the live server serves (what ``scripts/openapi`` writes to ``openapi/openapi.json``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from app.demo.seed import DEMO_PASSWORD
from tests.api.test_conformance import demo_server

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tools" / "clients"
LOCK = CLIENTS / "requirements-openapi-python-client.lock"
TOOL_VENV = ROOT / ".venv-tools" / "openapi-python-client"
TS = CLIENTS / "ts"


async def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, seconds: float = 300) -> str:
    with anyio.fail_after(seconds):
        done = await anyio.run_process(cmd, cwd=cwd, env=env, check=False)
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, f"{cmd[:3]} failed ({done.returncode}):\n{out[-4000:]}\n{err[-4000:]}"
    return out


async def tool_python() -> Path:
    """The tool venv's Python with openapi-python-client as locked (made once, then reused)."""
    python = TOOL_VENV / "bin" / "python"
    stamp = TOOL_VENV / "lock.sha"
    wanted = LOCK.read_bytes()
    if python.exists() and stamp.exists() and stamp.read_bytes() == wanted:
        return python
    try:
        with anyio.fail_after(300):
            venv = await anyio.run_process([sys.executable, "-m", "venv", "--clear", str(TOOL_VENV)], check=False)
            if venv.returncode != 0:
                pytest.skip(f"cannot create the tool venv: {venv.stderr.decode()[-500:]}")
            pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            installed = await anyio.run_process([*pip, "--require-hashes", "--no-deps", "-r", str(LOCK)], check=False)
    except TimeoutError:
        pytest.skip("installing openapi-python-client into the tool venv took over 5 minutes")
    if installed.returncode != 0:
        pytest.skip(f"cannot install openapi-python-client into the tool venv: {installed.stderr.decode()[-800:]}")
    stamp.write_bytes(wanted)
    return python


async def _document(base: str, path: Path) -> Path:
    import httpx

    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/openapi.json")
    assert r.status_code == 200
    await anyio.Path(path).write_bytes(r.content)
    return path


async def test_openapi_python_client_generated_and_driven(db_kind: str, tmp_path: Path) -> None:
    python = await tool_python()
    async with demo_server(db_kind, tmp_path) as server:
        doc = await _document(server.base, tmp_path / "openapi.json")
        out = tmp_path / "generated"
        out.mkdir()
        generator = python.with_name("openapi-python-client")
        log = await _run(
            [str(generator), "generate", "--path", str(doc), "--meta", "none", "--output-path", "ongi_api"], cwd=out
        )
        # every operation is generated (the NDJSON import and binary downloads too)
        assert "will not be generated" not in log, log[-3000:]
        env = {**os.environ, "PYTHONPATH": str(out)}
        seen = json.loads(
            (
                await _run(
                    [str(python), str(CLIENTS / "python_client_check.py"), server.base, "planner", DEMO_PASSWORD],
                    cwd=tmp_path,
                    env=env,
                )
            )
            .strip()
            .splitlines()[-1]
        )
    assert seen["login"]["has_refresh"] is True
    assert seen["visits"] > 0
    assert seen["not_found"] == {"class": "Problem", "status": 404, "type": "https://ongi.example/problems/not-found"}
    assert seen["invalid"]["class"] == "ValidationProblem"
    assert seen["invalid"]["status"] == 422
    assert isinstance(seen["invalid"]["detail"], str)
    assert seen["invalid"]["fields"] == ["query.from"]
    assert seen["pull"]["changes"] > 0
    assert seen["push"] == ["applied"]
    assert uuid.UUID(seen["note_id"])
    assert seen["refreshed"] is True
    assert seen["me"] == "planner"


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="node and npm are needed")
async def test_openapi_typescript_strict_and_openapi_fetch_driven(db_kind: str, tmp_path: Path) -> None:
    npm = shutil.which("npm")
    assert npm is not None
    if not (TS / "node_modules" / ".bin" / "tsc").exists():
        await _run([npm, "ci", "--no-audit", "--no-fund"], cwd=TS)
    async with demo_server(db_kind, tmp_path) as server:
        doc = await _document(server.base, tmp_path / "openapi.json")
        env = {**os.environ, "ONGI_OPENAPI": str(doc)}
        await _run([npm, "run", "-s", "generate"], cwd=TS, env=env)
        await _run([npm, "run", "-s", "build"], cwd=TS)  # tsc --strict (tsconfig), no emit on error
        env = {**os.environ, "ONGI_BASE": server.base, "ONGI_USERNAME": "planner", "ONGI_PASSWORD": DEMO_PASSWORD}
        out = await _run(["node", "dist/main.js"], cwd=TS, env=env, seconds=120)
    seen: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert seen["login"] == 200
    assert seen["visits"] > 0
    assert seen["not_found"]["status"] == 404
    assert seen["not_found"]["type"] == "https://ongi.example/problems/not-found"
    assert seen["invalid"]["status"] == 422
    assert seen["invalid"]["detail_type"] == "string"
    assert seen["pull"]["status"] == 200
    assert seen["push"] == ["applied"]
