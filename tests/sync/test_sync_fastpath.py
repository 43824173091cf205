"""The empty pull answered below the router (app/sync/fastpath.py): the same answer as the full route,
and never a way around a revocation, an expiry or a change."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from jose import jwt
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.households.models import Household
from tests.support.factories import Actor, Factory, make_household, make_visit
from tests.support.sync import Phone


def fast_count(app: object) -> float:
    metrics = app.state.ongi.metrics  # type: ignore[attr-defined]
    return metrics.registry.get_sample_value("ongi_sync_pulls_total", {"path": "fast"}) or 0.0


async def _synced(factory: Factory, client: httpx.AsyncClient) -> tuple[Actor, Actor, Phone]:
    district = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, district)
    admin = await factory.actor(Role.admin, district)
    await make_visit(factory, await make_household(factory), [planner.user])
    phone = Phone(client, planner)
    await phone.sync()
    return planner, admin, phone


async def test_nothing_new_is_answered_fast_with_the_full_routes_answer(
    client: httpx.AsyncClient, factory: Factory, app: object
) -> None:
    _, _, phone = await _synced(factory, client)
    before = fast_count(app)
    for _ in range(3):
        body = await phone.pull_once()
        assert body == {"cursor": phone.cursor, "has_more": False, "checksum": phone.checksum(), "changes": []}
    assert fast_count(app) == before + 3
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor, "limit": 10}, headers=phone.actor.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"]
    assert "app;dur=" in r.headers["server-timing"]
    assert fast_count(app) == before + 4


async def test_a_change_is_not_answered_fast(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    _, _, phone = await _synced(factory, client)
    (household_id,) = [k[1] for k in phone.store if k[0] == "household"]
    async with maker() as s:
        h = await s.get(Household, uuid.UUID(household_id))
        assert h is not None
        h.living_situation = "server edit"  # through the ORM, so the change is logged for sync
        await commit(s)
    before = fast_count(app)
    body = await phone.pull_once()
    assert [c["id"] for c in body["changes"]] == [str(household_id)]
    assert fast_count(app) == before


async def test_revocations_and_expiry_stop_a_polling_phone_at_once(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    planner, admin, phone = await _synced(factory, client)
    security = app.state.ongi.security  # type: ignore[attr-defined]
    assert (await phone.pull_once())["changes"] == []  # the token is now known to the fast path

    # an expired token, even one whose signature was checked before
    claims = jwt.get_unverified_claims(planner.token)
    soon = jwt.encode({**claims, "exp": int(time.time()) + 1}, security._jwt_key, algorithm="HS256")
    headers = {"Authorization": f"Bearer {soon}"}
    assert (await client.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=headers)).status_code == 200
    await asyncio.sleep(2.1)  # jose counts whole seconds
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"

    # another device's cursor
    other = await factory.login(planner.user, planner.org)
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=other.headers)
    assert r.status_code == 410

    # a deactivated user, then organization
    for model, key in ((User, planner.user.id), (Organization, planner.org.id)):
        async with maker() as s:
            await s.execute(update(model).where(model.id == key).values(active=False))
            await commit(s)
        r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=planner.headers)
        assert r.status_code == 401, model
        async with maker() as s:
            await s.execute(update(model).where(model.id == key).values(active=True))
            await commit(s)
    assert (await phone.pull_once())["changes"] == []

    # the device revoked: wipe
    r = await client.post(
        f"/v1/devices/{planner.extra['device']}/revoke", headers=admin.headers, json={"reason": "분실"}
    )
    assert r.status_code in (200, 204), r.text
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=planner.headers)
    assert r.status_code == 401
    assert r.json()["wipe"] is True


async def test_logout_and_bad_requests_fall_through(client: httpx.AsyncClient, factory: Factory) -> None:
    planner, _, phone = await _synced(factory, client)
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor, "limit": 0}, headers=planner.headers)
    assert r.status_code == 422
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor + "x"}, headers=planner.headers)
    assert r.status_code == 410
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor})
    assert r.status_code == 401
    assert (await client.post("/v1/auth/logout", headers=planner.headers)).status_code == 204
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=planner.headers)
    assert r.status_code == 401
    assert r.json()["type"].endswith("token-revoked")
