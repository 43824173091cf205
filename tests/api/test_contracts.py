"""The migrations match the models, and openapi/openapi.json matches what the app serves."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.migrate import schema_drift

ROOT = Path(__file__).resolve().parents[2]


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    drift = await schema_drift(engine)
    assert drift == [], f"models and migrations differ: {drift}"


def test_the_migrations_have_one_head() -> None:
    """Parallel work merges its migrations (``alembic upgrade head`` works as written, not only ``heads``)."""
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several migration heads, add a merge revision: {heads}"


async def test_openapi_file_is_what_the_app_serves(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    on_disk = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    assert served == on_disk, "openapi/openapi.json is stale: run scripts/openapi"


async def test_every_operation_documents_problem_responses(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    assert served["paths"], "no paths"
    for path, ops in served["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") or op.get("operationId"), f"{method} {path}"
