"""Who is calling, as the gates read it: the bearer token, resolved once per request (``docs/access.md``).

The route gates (:mod:`app.access.gates`) and every route that needs a caller depend on :data:`CurrentPrincipal`
(or :data:`OptionalPrincipal`), so the token is resolved once per request whichever of them a route names.
*How* a token becomes a :class:`~app.core.principal.Principal` is authentication, :mod:`app.auth`'s business: it
installs its resolver here (:func:`install_authenticator`, done by :mod:`app.auth.deps`), so that this package
imports no auth service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.deps import SessionDep, StateDep, client_address
from app.core.errors import Problem
from app.core.principal import Principal
from app.core.state import AppState

#: Resolves a bearer token (state, session, token, client address) into the caller, or raises a 401 problem.
Authenticator = Callable[[AppState, AsyncSession, str, str | None], Awaitable[Principal]]

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/token")
_authenticators: list[Authenticator] = []


def install_authenticator(authenticate: Authenticator) -> None:
    """Install the one token resolver (``app.auth.service.resolve_principal``)."""
    _authenticators[:] = [authenticate]


async def _optional_principal(
    request: Request,
    state: StateDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    if not _authenticators:
        raise RuntimeError("no authenticator installed (app.auth.deps installs it)")
    principal = await _authenticators[0](state, session, credentials.credentials, client_address(request))
    structlog.contextvars.bind_contextvars(actor=str(principal.user_id), role=principal.role.value)
    request.state.principal = principal
    return principal


async def _principal(principal: Annotated[Principal | None, Depends(_optional_principal)]) -> Principal:
    if principal is None:
        raise Problem(401, "unauthorized", "detail.missing-token")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_principal)]
