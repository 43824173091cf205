"""Authlib's OAuth2 client, unmodified, against the token endpoint (issue 14 item 4, RFC 6749): a password
grant with the phone's device fields as extra form data, a refresh through ``/v1/auth/token`` with
``grant_type=refresh_token`` (§6), the client's own refresh of an expired token, and §5.2 errors that Authlib
raises instead of storing them as a token."""

from __future__ import annotations

import time
import warnings
from typing import Any

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns when it falls back to httpx (the one the project uses)
    warnings.filterwarnings("ignore", "The httpx module is deprecated", module="authlib")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from app.core.principal import Role
from tests.support.factories import PASSWORD, Factory

BASE = "http://testserver"
TOKEN_URL = BASE + "/v1/auth/token"


def oauth_client(app: Any, **kw: Any) -> AsyncOAuth2Client:
    # a public client (the phone app): no client secret, its id sent in the form
    return AsyncOAuth2Client(
        client_id="ongi-phone",
        token_endpoint=TOKEN_URL,
        token_endpoint_auth_method="none",
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
        **kw,
    )


async def test_authlib_password_login_refresh_and_keeps_working(app: Any, factory: Factory) -> None:
    user = await factory.user(Role.planner)
    updates: list[dict[str, Any]] = []

    async def update_token(token: dict[str, Any], refresh_token: str | None = None, **_: Any) -> None:
        updates.append({"token": dict(token), "old_refresh": refresh_token})

    async with oauth_client(app, update_token=update_token) as client:
        token = await client.fetch_token(
            TOKEN_URL,
            grant_type="password",
            username=user.username,
            password=PASSWORD,
            device_id="authlib-phone",
            device_name="Galaxy (Authlib)",
        )
        assert token["token_type"].lower() == "bearer"
        assert token["refresh_token"]
        assert token["expires_at"] > time.time()
        me = await client.get("/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["username"] == user.username

        # an explicit refresh (RFC 6749 §6) at the token endpoint rotates both tokens
        first_refresh = token["refresh_token"]
        refreshed = await client.refresh_token(TOKEN_URL)
        assert "error" not in refreshed
        assert refreshed["access_token"] != token["access_token"]
        assert refreshed["refresh_token"] != first_refresh
        assert (await client.get("/v1/me")).status_code == 200

        # the client refreshes by itself once its token has expired, and the request goes through
        client.token["expires_at"] = int(time.time()) - 60
        before = client.token["access_token"]
        visits = await client.get("/v1/visits", params={"assignee": "me"})
        assert visits.status_code == 200, visits.text
        assert client.token["access_token"] != before
        assert updates
        assert updates[-1]["old_refresh"] == refreshed["refresh_token"]

        # the spent refresh token is refused as RFC 6749 §5.2 says; Authlib raises, it does not keep the error
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(TOKEN_URL, refresh_token=first_refresh)
        assert err.value.error == "invalid_grant"


async def test_authlib_bad_password_raises_invalid_grant(app: Any, factory: Factory) -> None:
    user = await factory.user(Role.partner)
    async with oauth_client(app) as client:
        with pytest.raises(OAuthError) as err:
            await client.fetch_token(TOKEN_URL, grant_type="password", username=user.username, password="wrong-pass")
        assert err.value.error == "invalid_grant"
        assert client.token is None


async def test_authlib_client_credentials(app: Any, factory: Factory) -> None:
    from app.core.principal import INTEGRATION_SCOPES, OrgKind

    org = await factory.org(OrgKind.public)
    user = await factory.user(Role.integration, org, scopes=list(INTEGRATION_SCOPES))
    async with AsyncOAuth2Client(
        client_id=user.username,
        client_secret=PASSWORD,
        token_endpoint=TOKEN_URL,
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
    ) as client:
        token = await client.fetch_token(TOKEN_URL, grant_type="client_credentials", scope="visits:read")
        assert token["access_token"]
        r = await client.get("/v1/visits")
        assert r.status_code == 200, r.text
