"""Who is calling: resolved once per request (authentication). Which roles a route admits is declared with the
gates of :mod:`app.access.gates`."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.principal import Principal
from app.auth.service import resolve_principal
from app.core.deps import SessionDep, StateDep, client_address
from app.core.errors import Problem

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/token")


async def _optional_principal(
    request: Request,
    state: StateDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    principal = await resolve_principal(state, session, credentials.credentials, client_address(request))
    structlog.contextvars.bind_contextvars(actor=str(principal.user_id), role=principal.role.value)
    request.state.principal = principal
    return principal


async def _principal(principal: Annotated[Principal | None, Depends(_optional_principal)]) -> Principal:
    if principal is None:
        raise Problem(401, "unauthorized", "detail.missing-token")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_principal)]
