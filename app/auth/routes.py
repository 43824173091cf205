"""``/v1/auth/*`` and ``/v1/me``."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy import select

from app.auth.deps import CurrentPrincipal, OptionalPrincipal
from app.auth.models import Organization, User
from app.auth.schemas import MeResponse, OrganizationBrief, TokenResponse
from app.auth.service import AuthService, TokenPair
from app.core.deps import ReadSessionDep, SessionDep, StateDep, client_address
from app.core.errors import Problem, not_found

router = APIRouter(tags=["auth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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


@router.post(
    "/v1/auth/token",
    response_model=TokenResponse,
    summary="Log in (OAuth2 password or client-credentials grant)",
    responses={
        401: {"description": "Bad credentials, or a revoked device (`wipe: true`)"},
        429: {"description": "Too many failed logins; see Retry-After"},
    },
)
async def token(
    request: Request,
    response: Response,
    state: StateDep,
    session: ReadSessionDep,
    grant_type: Annotated[str, Form(pattern="^(password|client_credentials)$")],
    username: Annotated[str | None, Form(max_length=100)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    scope: Annotated[str | None, Form(max_length=500)] = None,
    client_id: Annotated[str | None, Form(max_length=100)] = None,
    client_secret: Annotated[str | None, Form(max_length=1024)] = None,
    device_id: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    device_name: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenResponse:
    service = AuthService(state, session)
    address = client_address(request)
    if grant_type == "password":
        if not username or password is None:
            raise Problem(400, "invalid-grant", "detail.invalid-credentials", extra={"error": "invalid_request"})
        pair = await service.password_login(
            username, password, client_device_id=device_id, device_name=device_name, address=address
        )
    else:
        basic = _basic_credentials(request)
        cid, secret = basic if basic else (client_id, client_secret)
        if not cid or secret is None:
            raise Problem(401, "invalid-credentials", "detail.invalid-credentials", extra={"error": "invalid_client"})
        pair = await service.client_credentials(cid, secret, scope, address)
    return _token_response(pair, response)


@router.post("/v1/auth/refresh", response_model=TokenResponse, summary="Rotate a refresh token")
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
    row = (
        await session.execute(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == principal.user_id)
        )
    ).first()
    if row is None:
        raise not_found()
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
