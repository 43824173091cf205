"""Helpers shared by the care tests (resources, supports, cases, monitoring, campaigns). No tests here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from app.auth.models import Organization
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from tests.support.factories import Actor, Factory


async def coordinator_and_planner(factory: Factory, jurisdiction: list[str] | None = None) -> tuple[Actor, Actor]:
    org = await factory.org(OrgKind.public, jurisdiction or ["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    return coordinator, planner


async def partner(factory: Factory, org: Organization | None = None) -> Actor:
    org = org or await factory.org(OrgKind.private, ["11990"])
    return await factory.actor(Role.partner, org)


async def make_resource(
    client: httpx.AsyncClient, coordinator: Actor, provider_id: uuid.UUID | None = None, **kw: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "긴급복지지원 생계지원",
        "kind": "public_benefit",
        "category": "emergency_welfare",
        "provider_organization_id": str(provider_id or coordinator.org.id),
        "district_code": "11990",
        "eligibility": "위기사유 발생, 기준중위소득 75% 이하",
        "default_amount": 1_832_000,
    }
    body.update(kw)
    r = await client.post("/v1/resources", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def propose(
    client: httpx.AsyncClient, actor: Actor, household_id: uuid.UUID, resource_id: str, **kw: Any
) -> httpx.Response:
    body = {"household_id": str(household_id), "resource_id": resource_id, **kw}
    return await client.post("/v1/supports", json=body, headers=actor.headers)


async def move(client: httpx.AsyncClient, actor: Actor, support_id: str, to: str, **kw: Any) -> httpx.Response:
    return await client.post(f"/v1/supports/{support_id}/transitions", json={"to": to, **kw}, headers=actor.headers)


async def add_signal(
    factory: Factory,
    household: Any,
    source: str,
    observed_at: datetime | None = None,
    indicators: list[str] | None = None,
) -> Any:
    from app.households.models import Signal

    signal = Signal(
        household_id=household.id,
        source=source,
        indicators=indicators or ["power_cut"],
        observed_at=observed_at or utcnow(),
    )
    async with factory.maker() as s:
        s.add(signal)
        await commit(s)
    return signal


async def set_columns(factory: Factory, model: Any, row_id: uuid.UUID, **values: Any) -> None:
    """Change columns straight in the database (to place a record in the past)."""
    async with factory.maker() as s:
        obj = await s.get(model, row_id)
        assert obj is not None
        for k, v in values.items():
            setattr(obj, k, v)
        await commit(s)


async def fetch(factory: Factory, model: Any, *where: Any) -> list[Any]:
    async with factory.maker() as s:
        return list((await s.execute(select(model).where(*where))).scalars())
