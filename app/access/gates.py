"""The one vocabulary of route gates: who may ever call a route, by role (and an integration's scope).

A route names one of these aliases (``principal: gates.Coordinator``); no route spells roles itself, and the
access lint (``python -m app.access.lint``) fails the build when one does. A gate answers 403 before the route
runs; *which* records the caller then reaches is decided by the filters and checks of the other modules of
:mod:`app.access` (object level, never by role alone). ``docs/access.md`` explains the model.

| gate | roles (and integration scope) |
| --- | --- |
| ``Admin`` | admin |
| ``Coordinator`` | coordinator |
| ``Reporter`` | reporter |
| ``PublicStaff`` | coordinator, planner |
| ``FieldStaff`` | coordinator, planner, partner |
| ``Steward`` | coordinator, admin (facilities, the resource catalogue, merges) |
| ``Staff`` | admin, coordinator, planner, partner (read what their area or assignments hold) |
| ``ReportReaders`` | reporter, coordinator, planner |
| ``HouseholdReaders`` | coordinator, planner, partner; integration with ``households:read`` |
| ``PublicHouseholdReaders`` | coordinator, planner; integration with ``households:read`` |
| ``VisitReaders`` | coordinator, planner, partner; integration with ``visits:read`` |
| ``SupportReaders`` | coordinator, planner, partner; integration with ``supports:read`` |
| ``Importer`` | coordinator; integration with ``households:import`` |
| ``EventReader`` | integration with ``events:read`` only |
| ``ImportClient`` | integration with ``households:import`` only |

:func:`role_gate` is the one gate factory (roles, and an integration's scope beside them); :func:`Integration`
builds a gate for integration clients only (403 ``scope-forbidden`` for anyone else). Only this module calls
them; ``app.core.openapi`` reads their closures (``allowed``, ``scope``) to write each operation's security.
The gate reads the caller from :data:`app.access.caller.CurrentPrincipal` (the token resolved once per request
by the authenticator :mod:`app.auth` installs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from app.access.caller import CurrentPrincipal
from app.core.errors import Problem
from app.core.principal import Principal, Role

Gate = Callable[[Principal], Awaitable[Principal]]


def role_gate(*roles: Role, scope: str | None = None) -> Gate:
    """A dependency admitting ``roles`` (and integration clients holding ``scope``); 403 for anyone else.
    The problem names the roles in the order given here."""
    allowed = frozenset(roles)
    names = ", ".join([r.value for r in roles] + ([f"integration ({scope})"] if scope else []))

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role in allowed:
            return principal
        if scope is not None and principal.role == Role.integration:
            if scope in principal.scopes:
                return principal
            raise Problem(403, "forbidden", "detail.scope-forbidden", params={"scope": scope})
        raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": names})

    return dependency


def Integration(scope: str) -> Gate:
    """A dependency admitting only integration clients holding ``scope``; 403 ``scope-forbidden`` otherwise."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role != Role.integration or scope not in principal.scopes:
            raise Problem(403, "forbidden", "detail.scope-forbidden", params={"scope": scope})
        return principal

    return dependency


Admin = Annotated[Principal, Depends(role_gate(Role.admin))]
Coordinator = Annotated[Principal, Depends(role_gate(Role.coordinator))]
Reporter = Annotated[Principal, Depends(role_gate(Role.reporter))]
PublicStaff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner))]
FieldStaff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner))]
Steward = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.admin))]
Staff = Annotated[Principal, Depends(role_gate(Role.admin, Role.coordinator, Role.planner, Role.partner))]
ReportReaders = Annotated[Principal, Depends(role_gate(Role.reporter, Role.coordinator, Role.planner))]
HouseholdReaders = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="households:read"))
]
PublicHouseholdReaders = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, scope="households:read"))
]
VisitReaders = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="visits:read"))
]
SupportReaders = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="supports:read"))
]
Importer = Annotated[Principal, Depends(role_gate(Role.coordinator, scope="households:import"))]
EventReader = Annotated[Principal, Depends(Integration("events:read"))]
ImportClient = Annotated[Principal, Depends(Integration("households:import"))]
