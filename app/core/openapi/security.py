"""The security of the document: the OAuth2 scheme and its scopes, and each operation's requirement read from
the gates on its route (``app.access.gates``; docs/access.md)."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.routing import APIRoute

from app.core.openapi.names import operation_id

#: Scopes an operation needs that no gate on its route names (checked inside the service).
SCOPE_OVERRIDES: dict[str, list[str]] = {"exportRecords": ["exports:read"]}

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "households:import": "Import households (REST and NDJSON bulk)",
    "households:read": "Read households of the organization's jurisdiction (public organizations only)",
    "visits:read": "Read visits (public organizations only)",
    "supports:read": "Read supports",
    "events:read": "Poll events and manage webhooks",
    "exports:read": "Stream exports",
}


def security_schemes() -> dict[str, Any]:
    from app.core.principal import INTEGRATION_SCOPES

    scopes = {name: SCOPE_DESCRIPTIONS.get(name, name) for name in INTEGRATION_SCOPES}
    return {
        "oauth2": {
            "type": "oauth2",
            "description": (
                "People log in with the password grant (the phone adds `device_id` and `device_name`); their "
                "tokens carry no scopes: what a person may do follows from the role, which the server checks. "
                "Integration clients use the client-credentials grant with scopes."
            ),
            "flows": {
                "password": {"tokenUrl": "/v1/auth/token", "refreshUrl": "/v1/auth/token", "scopes": {}},
                "clientCredentials": {"tokenUrl": "/v1/auth/token", "refreshUrl": "/v1/auth/token", "scopes": scopes},
            },
        }
    }


def _gates(call: Any) -> tuple[str | None, frozenset[Any] | None]:
    try:
        names = inspect.getclosurevars(call).nonlocals
    except (TypeError, ValueError):
        return None, None
    scope = names.get("scope")
    allowed = names.get("allowed")
    return (scope if isinstance(scope, str) else None), (allowed if isinstance(allowed, frozenset) else None)


def route_security(route: APIRoute) -> list[dict[str, list[str]]] | None:
    """The security requirement of a route from its gates (``app.access.gates``: ``role_gate``,
    ``Integration``): ``[]`` scopes for any token (the role is the server's business), the gate's scope for
    integration clients."""
    scopes: list[str] = []
    roles_too = False
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        stack.extend(dep.dependencies)
        if dep.call is None:
            continue
        scope, allowed = _gates(dep.call)
        if scope:
            scopes.append(scope)
            if allowed is not None:
                roles_too = roles_too or bool(allowed)
        elif allowed is not None and allowed:
            roles_too = True
    scopes = sorted(set(scopes) | set(SCOPE_OVERRIDES.get(operation_id(route), [])))
    if not scopes:
        return None
    requirement: list[dict[str, list[str]]] = [{"oauth2": scopes}]
    if roles_too:
        requirement.insert(0, {"oauth2": []})
    return requirement


def secure(op: dict[str, Any], scopes: dict[str, list[dict[str, list[str]]]]) -> None:
    security = op.get("security")
    if not security:
        return
    if op.get("operationId") in scopes:
        op["security"] = scopes[op["operationId"]]
    else:
        op["security"] = [{"oauth2": []}]
