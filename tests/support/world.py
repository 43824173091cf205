"""Helpers for the household, report, visit, consent, audit and access-matrix tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.auth.models import Organization, User
from app.auth.service import principal_for
from app.core.db import utcnow
from app.core.principal import OrgKind, Principal, Role
from app.events.models import OutboxEvent
from tests.support.factories import Actor, Factory

DONG_A = "1199051000"
DONG_A2 = "1199052000"
DONG_B = "1111051000"


def household_body(dong: str = DONG_A, **kw: Any) -> dict[str, Any]:
    n = uuid.uuid4().hex[:6]
    body: dict[str, Any] = {
        "district_code": dong[:5],
        "dong_code": dong,
        "address": f"온기로 {n}길 1",
        "head_name": f"김{n}",
        "contact_phone": "010-1111-2222",
        "members": [{"key": "m1", "name": f"김{n}", "birth_year": 1950, "relation": "head", "tags": []}],
        "tags": [],
    }
    body.update(kw)
    return body


def principal_of(actor: Actor | tuple[User, Organization]) -> Principal:
    user, org = (actor.user, actor.org) if isinstance(actor, Actor) else actor
    return principal_for(user, org, session_id=None, device_id=None, address=None)


async def events(maker: async_sessionmaker[AsyncSession], type_: str, household_id: Any = None) -> list[OutboxEvent]:
    async with maker() as s:
        stmt = select(OutboxEvent).where(OutboxEvent.type == type_)
        if household_id is not None:
            stmt = stmt.where(OutboxEvent.household_id == uuid.UUID(str(household_id)))
        return list((await s.execute(stmt.order_by(OutboxEvent.seq))).scalars())


async def audits(maker: async_sessionmaker[AsyncSession], **where: Any) -> list[AuditEvent]:
    async with maker() as s:
        stmt = select(AuditEvent)
        for name, value in where.items():
            if name.endswith("_id") and value is not None and not isinstance(value, uuid.UUID):
                value = uuid.UUID(str(value))
            stmt = stmt.where(getattr(AuditEvent, name) == value)
        return list((await s.execute(stmt.order_by(AuditEvent.at))).scalars())


@dataclass
class District:
    """One public organization (a district office) with its staff, a private partner organization working
    in the same district with its staff, and a reporter organization."""

    public: Organization
    private: Organization
    reporters: Organization
    coordinator: Actor
    planner: Actor
    partner: Actor
    admin: Actor
    reporter: Actor
    integration: Actor


async def district(factory: Factory, code: str = "11990", *, integration_scopes: list[str] | None = None) -> District:
    public = await factory.org(OrgKind.public, [code])
    private = await factory.org(OrgKind.private, [code])
    reporters = await factory.org(OrgKind.private, [code])
    scopes = integration_scopes or [
        "households:read",
        "visits:read",
        "households:import",
        "events:read",
        "supports:read",
        "exports:read",
    ]
    return District(
        public=public,
        private=private,
        reporters=reporters,
        coordinator=await factory.actor(Role.coordinator, public),
        planner=await factory.actor(Role.planner, public),
        partner=await factory.actor(Role.partner, private),
        admin=await factory.actor(Role.admin, public),
        reporter=await factory.actor(Role.reporter, reporters),
        integration=await _integration(factory, public, scopes),
    )


async def _integration(factory: Factory, org: Organization, scopes: list[str]) -> Actor:
    user = await factory.user(Role.integration, org, scopes=scopes)
    r = await factory.client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": user.username,
            "client_secret": "correct horse battery",
            "scope": " ".join(scopes),
        },
    )
    assert r.status_code == 200, r.text
    return Actor(user=user, org=org, token=r.json()["access_token"])


def window(hours_from_now: float = -1, length_hours: float = 6) -> dict[str, str]:
    start = utcnow() + timedelta(hours=hours_from_now)
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=length_hours)).isoformat()}
