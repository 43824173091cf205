"""``/v1/auth/*`` and ``/v1/me``."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from app.auth.deps import CurrentPrincipal, OptionalPrincipal
from app.auth.repository import AccountRepository
from app.auth.schemas import MeResponse, OAuthErrorResponse, OrganizationBrief, TokenResponse
from app.auth.service import AuthService, TokenPair
from app.core.deps import ReadSessionDep, SessionDep, StateDep, client_address
from app.core.errors import NotFound, OAuthError, Problem
from app.core.http import problems
from app.core.uow import begin_write

router = APIRouter(tags=["auth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_NO_STORE_HEADERS: dict[str, Any] = {
    "Cache-Control": {"description": "`no-store` (RFC 6749 §5.1)", "schema": {"type": "string"}},
    "Pragma": {"description": "`no-cache`", "schema": {"type": "string"}},
}


def _token_response(pair: TokenPair, response: Response) -> TokenResponse:
    response.headers.update(_NO_STORE)
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        scope=pair.scope or None,
        device_id=pair.device_id,
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (client_id, secret) if sep else None


#: What the token endpoint accepts of each form field (RFC 6749 §5.2: a bad one is ``invalid_request``).
_TOKEN_FIELD_LIMITS = {
    "username": 100,
    "password": 1024,
    "scope": 500,
    "client_id": 100,
    "client_secret": 1024,
    "device_id": 200,
    "device_name": 200,
    "refresh_token": 200,
}
GRANT_TYPES = ("password", "client_credentials", "refresh_token")

_OAUTH_ERROR_RESPONSE: dict[str, Any] = {"model": OAuthErrorResponse, "headers": _NO_STORE_HEADERS}


@router.post(
    "/v1/auth/token",
    response_model=TokenResponse,
    summary="Log in or refresh (OAuth2 password, client-credentials and refresh-token grants)",
    description=(
        "RFC 6749: `grant_type=password` (with `username`, `password`, and the phone's `device_id` and "
        "`device_name`), `client_credentials` (HTTP Basic or `client_id`/`client_secret`, optional `scope`) or "
        "`refresh_token` (§6; the same as `POST /v1/auth/refresh`). Errors are RFC 6749 §5.2 JSON "
        "(`error`, `error_description`): 400 `invalid_request`, `invalid_grant` (bad username or password, a "
        'spent or expired refresh token, a revoked device with `"wipe": true`), `invalid_scope`, '
        "`unsupported_grant_type`; 401 `invalid_client` with `WWW-Authenticate`. Too many failed logins answer a "
        "429 problem with `Retry-After`. Answers are never cached."
    ),
    responses={
        200: {"headers": _NO_STORE_HEADERS},
        400: {"description": "RFC 6749 §5.2 error", **_OAUTH_ERROR_RESPONSE},
        401: {
            "description": "`invalid_client`: unknown client or wrong secret",
            **_OAUTH_ERROR_RESPONSE,
            "headers": {**_NO_STORE_HEADERS, "WWW-Authenticate": {"schema": {"type": "string"}}},
        },
        429: {"description": "Too many failed logins; see Retry-After"},
    },
    openapi_extra={"x-ongi-omit-problems": [422]},
)
async def token(
    request: Request,
    response: Response,
    state: StateDep,
    session: ReadSessionDep,
    grant_type: Annotated[
        str | None,
        Form(
            description="password, client_credentials or refresh_token",
            json_schema_extra={"enum": ["password", "client_credentials", "refresh_token"]},
        ),
    ] = None,
    username: Annotated[str | None, Form(json_schema_extra={"maxLength": 100})] = None,
    password: Annotated[str | None, Form(json_schema_extra={"maxLength": 1024})] = None,
    scope: Annotated[
        str | None, Form(json_schema_extra={"maxLength": 500}, description="Space-separated scopes")
    ] = None,
    client_id: Annotated[str | None, Form(json_schema_extra={"maxLength": 100})] = None,
    client_secret: Annotated[str | None, Form(json_schema_extra={"maxLength": 1024})] = None,
    device_id: Annotated[str | None, Form(json_schema_extra={"minLength": 1, "maxLength": 200})] = None,
    device_name: Annotated[str | None, Form(json_schema_extra={"maxLength": 200})] = None,
    refresh_token: Annotated[
        str | None, Form(json_schema_extra={"maxLength": 200}, description="For grant_type=refresh_token")
    ] = None,
) -> TokenResponse:
    try:
        pair = await _grant(
            request,
            state,
            session,
            grant_type,
            {
                "username": username,
                "password": password,
                "scope": scope,
                "client_id": client_id,
                "client_secret": client_secret,
                "device_id": device_id,
                "device_name": device_name,
                "refresh_token": refresh_token,
            },
        )
    except OAuthError:
        raise
    except Problem as exc:
        if exc.status in (400, 401):
            default = "invalid_client" if grant_type == "client_credentials" else "invalid_grant"
            raise OAuthError.from_problem(exc, default) from exc
        raise
    return _token_response(pair, response)


async def _grant(
    request: Request, state: StateDep, session: ReadSessionDep, grant_type: str | None, form: dict[str, str | None]
) -> TokenPair:
    if not grant_type:
        raise OAuthError("invalid_request", "detail.oauth-missing", params={"field": "grant_type"})
    if grant_type not in GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", "detail.unsupported-grant", params={"grant": grant_type[:50]})
    for name, limit in _TOKEN_FIELD_LIMITS.items():
        value = form[name]
        if value is not None and (len(value) > limit or (name == "device_id" and not value)):
            raise OAuthError("invalid_request", "detail.oauth-invalid-field", params={"field": name})
    service = AuthService(state, session)
    address = client_address(request)
    if grant_type == "password":
        username, password = form["username"], form["password"]
        if not username or password is None:
            field = "username" if not username else "password"
            raise OAuthError("invalid_request", "detail.oauth-missing", params={"field": field})
        return await service.password_login(
            username, password, client_device_id=form["device_id"], device_name=form["device_name"], address=address
        )
    if grant_type == "refresh_token":
        refresh_token = form["refresh_token"]
        if not refresh_token:
            raise OAuthError("invalid_request", "detail.oauth-missing", params={"field": "refresh_token"})
        await begin_write(session)
        return await service.refresh(refresh_token, address)
    basic = _basic_credentials(request)
    cid, secret = basic if basic else (form["client_id"], form["client_secret"])
    if not cid or secret is None:
        raise OAuthError("invalid_client", "detail.invalid-credentials")
    return await service.client_credentials(cid, secret, form["scope"], address)


@router.post(
    "/v1/auth/refresh",
    response_model=TokenResponse,
    summary="Rotate a refresh token",
    responses=problems(401, s401="A spent, expired or unknown refresh token (`invalid_grant`), or a revoked device"),
)
async def refresh(
    request: Request,
    response: Response,
    state: StateDep,
    session: SessionDep,
    refresh_token: Annotated[str, Form(min_length=10, max_length=200)],
) -> TokenResponse:
    pair = await AuthService(state, session).refresh(refresh_token, client_address(request))
    return _token_response(pair, response)


@router.post("/v1/auth/logout", status_code=204, summary="End this session (its access and refresh tokens)")
async def logout(
    state: StateDep,
    session: SessionDep,
    principal: OptionalPrincipal,
    refresh_token: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    if principal is None and not refresh_token:
        raise Problem(401, "unauthorized", "detail.missing-token")
    await AuthService(state, session).logout(principal, refresh_token)
    return Response(status_code=204)


@router.get("/v1/me", response_model=MeResponse, summary="The caller")
async def me(principal: CurrentPrincipal, session: SessionDep) -> MeResponse:
    row = await AccountRepository(session).with_organization(principal.user_id)
    if row is None:
        raise NotFound()
    user, org = row
    return MeResponse(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organization=OrganizationBrief(id=org.id, name=org.name, kind=org.kind),
        jurisdiction=list(principal.jurisdiction),
        scopes=sorted(principal.scopes),
        device_id=principal.device_id,
        last_login_at=user.last_login_at,
    )
