"""Token login, rotation, reuse detection, throttling and device revocation (docs/access.md#tokens-and-devices)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import httpx
from jose import jwt

from app.core.principal import OrgKind, Role
from tests.support.factories import PASSWORD, Factory


def _b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


async def test_password_login_returns_tokens_and_me(client: httpx.AsyncClient, factory: Factory) -> None:
    planner = await factory.actor(Role.planner)
    assert planner.refresh
    r = await client.get("/v1/me", headers=planner.headers)
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["username"] == planner.user.username
    assert me["role"] == "planner"
    assert me["organization"]["kind"] == "public"
    assert me["device_id"] == planner.extra["device"]


async def test_token_claims(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(Role.coordinator)
    claims = jwt.get_unverified_claims(actor.token)
    assert {"sub", "exp", "iat", "jti", "aud", "iss", "sid", "role"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(actor.token)["alg"] == "HS256"


async def test_wrong_password_and_unknown_user_look_alike(client: httpx.AsyncClient, factory: Factory) -> None:
    user = await factory.user(Role.planner)
    wrong = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": user.username, "password": "nope-nope"}
    )
    unknown = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": "ghost-user", "password": "nope-nope"}
    )
    # RFC 6749 §5.2: a bad resource-owner password is invalid_grant (400), not a problem
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json()["error"] == unknown.json()["error"] == "invalid_grant"
    assert wrong.json()["error_description"] == unknown.json()["error_description"]
    assert wrong.headers["content-type"] == "application/json"
    assert wrong.headers["cache-control"] == "no-store"


async def test_missing_token_is_401_with_www_authenticate(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_tampered_expired_wrong_audience_and_alg_none_tokens(
    client: httpx.AsyncClient, factory: Factory, app: object
) -> None:
    actor = await factory.actor(Role.planner)
    security = app.state.ongi.security  # type: ignore[attr-defined]
    header, payload, sig = actor.token.split(".")
    claims = jwt.get_unverified_claims(actor.token)

    tampered_payload = _b64({**claims, "role": "admin"})
    tampered = f"{header}.{tampered_payload}.{sig}"
    alg_none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    expired = jwt.encode(
        {**claims, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 60}, security._jwt_key, algorithm="HS256"
    )
    wrong_aud = jwt.encode({**claims, "aud": "someone-else"}, security._jwt_key, algorithm="HS256")
    other_key = jwt.encode(claims, "not-the-key", algorithm="HS256")
    hs512 = jwt.encode(claims, security._jwt_key, algorithm="HS512")
    no_jti = jwt.encode({k: v for k, v in claims.items() if k != "jti"}, security._jwt_key, algorithm="HS256")

    for token in (tampered, alg_none, expired, wrong_aud, other_key, hs512, no_jti, "garbage", ""):
        r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200


async def test_refresh_rotates_and_reuse_revokes_family(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(Role.planner)
    first = await client.post("/v1/auth/refresh", data={"refresh_token": actor.refresh})
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != actor.refresh
    assert rotated["device_id"] == actor.extra["device"]

    # the rotated pair works
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {rotated['access_token']}"})
    assert me.status_code == 200

    # presenting the spent token again revokes the whole family
    reuse = await client.post("/v1/auth/refresh", data={"refresh_token": actor.refresh})
    assert reuse.status_code == 401
    assert reuse.json()["type"].endswith("/problems/refresh-token-reused")
    again = await client.post("/v1/auth/refresh", data={"refresh_token": rotated["refresh_token"]})
    assert again.status_code == 401
    for token in (actor.token, rotated["access_token"]):
        r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert r.json()["type"].endswith("/problems/token-revoked")


async def test_concurrent_refresh_only_one_wins(client: httpx.AsyncClient, factory: Factory, db_kind: str) -> None:
    actor = await factory.actor(Role.planner)
    first = await client.post("/v1/auth/refresh", data={"refresh_token": actor.refresh})
    second = await client.post("/v1/auth/refresh", data={"refresh_token": actor.refresh})
    assert sorted([first.status_code, second.status_code]) == [200, 401]


async def test_unknown_refresh_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/auth/refresh", data={"refresh_token": "x" * 43})
    assert r.status_code == 401
    assert r.json()["type"].endswith("/problems/invalid-grant")


async def test_logout_ends_access_and_refresh(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(Role.partner)
    r = await client.post("/v1/auth/logout", headers=actor.headers, data={"refresh_token": actor.refresh})
    assert r.status_code == 204
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 401
    assert (await client.post("/v1/auth/refresh", data={"refresh_token": actor.refresh})).status_code == 401


async def test_throttle_per_account_engages_and_releases(client: httpx.AsyncClient, factory: Factory) -> None:
    user = await factory.user(Role.planner)
    bad = {"grant_type": "password", "username": user.username, "password": "wrong-password"}
    for _ in range(5):
        assert (await client.post("/v1/auth/token", data=bad)).status_code == 400
    locked = await client.post("/v1/auth/token", data={**bad, "password": PASSWORD})  # even the right password waits
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json()["type"].endswith("/problems/too-many-attempts")
    await asyncio.sleep(1.2)  # test settings lock for 1 second
    ok = await client.post("/v1/auth/token", data={**bad, "password": PASSWORD})
    assert ok.status_code == 200, ok.text


async def test_throttle_per_address_spans_accounts(
    client: httpx.AsyncClient, factory: Factory, settings: object
) -> None:
    limit = settings.login_max_failures_per_address  # type: ignore[attr-defined]
    for i in range(limit):
        r = await client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": f"spray{i}", "password": "guess-guess"}
        )
        assert r.status_code == 400
    user = await factory.user(Role.planner)
    blocked = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": user.username, "password": PASSWORD}
    )
    assert blocked.status_code == 429
    await asyncio.sleep(1.2)


async def test_revoked_device_is_locked_out_and_told_to_wipe(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public)
    admin = await factory.actor(Role.admin, org)
    planner = await factory.actor(Role.planner, org)
    device_id = planner.extra["device"]

    listed = await client.get("/v1/devices", headers=admin.headers, params={"user_id": str(planner.id)})
    assert [d["id"] for d in listed.json()["items"]] == [device_id]

    r = await client.post(f"/v1/devices/{device_id}/revoke", headers=admin.headers, json={"reason": "분실 신고"})
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"]

    blocked = await client.get("/v1/me", headers=planner.headers)
    assert blocked.status_code == 401
    body = blocked.json()
    assert body["type"].endswith("/problems/device-revoked")
    assert body["wipe"] is True
    refresh = await client.post("/v1/auth/refresh", data={"refresh_token": planner.refresh})
    assert refresh.status_code == 401
    assert refresh.json()["wipe"] is True
    relogin = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": planner.user.username,
            "password": PASSWORD,
            "device_id": planner.device_id,
        },
    )
    assert relogin.status_code == 400
    assert relogin.json()["error"] == "invalid_grant"
    assert relogin.json()["wipe"] is True
    # the same person on a new phone may log in
    other = await factory.login(planner.user, org, device_id="new-phone")
    assert (await client.get("/v1/me", headers=other.headers)).status_code == 200


async def test_only_admins_revoke_devices(client: httpx.AsyncClient, factory: Factory) -> None:
    planner = await factory.actor(Role.planner)
    r = await client.post(
        f"/v1/devices/{planner.extra['device']}/revoke", headers=planner.headers, json={"reason": "x"}
    )
    assert r.status_code == 403


async def test_client_credentials_with_scopes(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public)
    admin = await factory.actor(Role.admin, org)
    created = await client.post(
        "/v1/users",
        headers=admin.headers,
        json={
            "organization_id": str(org.id),
            "username": "bigdata-feed",
            "display_name": "사회보장정보시스템 연계",
            "role": "integration",
            "scopes": ["households:import", "events:read"],
        },
    )
    assert created.status_code == 201, created.text
    secret = created.json()["client_secret"]
    assert secret

    r = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "bigdata-feed",
            "client_secret": secret,
            "scope": "households:import",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "households:import"
    assert r.json()["refresh_token"] is None
    basic = base64.b64encode(f"bigdata-feed:{secret}".encode()).decode()
    r2 = await client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r2.status_code == 200
    assert r2.json()["scope"] == "events:read households:import"

    too_much = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "bigdata-feed",
            "client_secret": secret,
            "scope": "exports:read",
        },
    )
    assert too_much.status_code == 400
    # an integration client cannot use the password grant, nor a person the client grant
    pw = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": "bigdata-feed", "password": secret}
    )
    assert pw.status_code == 400
    assert pw.json()["error"] == "invalid_grant"


async def test_deactivated_user_is_locked_out(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public)
    admin = await factory.actor(Role.admin, org)
    planner = await factory.actor(Role.planner, org)
    r = await client.patch(f"/v1/users/{planner.id}", headers=admin.headers, json={"active": False})
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/me", headers=planner.headers)).status_code == 401


async def test_login_is_audited(client: httpx.AsyncClient, factory: Factory, maker: object) -> None:
    from sqlalchemy import select

    from app.audit.models import AuditEvent

    actor = await factory.actor(Role.planner)
    await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": actor.user.username, "password": "bad-password"}
    )
    async with maker() as s:  # type: ignore[operator]
        events = (await s.execute(select(AuditEvent).where(AuditEvent.action == "auth.login"))).scalars().all()
    assert any(e.actor_id == actor.id and e.result == "ok" for e in events)
    assert any(e.result == "denied" for e in events)
    # the username attempted is kept (tests/audit/test_audit_pull.py), the password never
    assert all("bad-password" not in json.dumps(e.details) for e in events)
    assert uuid.UUID(str(events[0].id))
