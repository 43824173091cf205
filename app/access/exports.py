"""Who may export what (``app.exports``; ``docs/access.md``).

Coordinators export what they reach (their jurisdiction, by the filters of :mod:`app.access.policy`);
integration clients need ``exports:read`` plus the read scope of the kind (``households:read``,
``visits:read``, ``supports:read``). Campaign summaries are for coordinators (the campaign summary itself is).
"""

from __future__ import annotations

from app.core.errors import Forbidden
from app.core.principal import Principal, Role

EXPORTS_SCOPE = "exports:read"
#: The scope an integration client needs, besides exports:read, for each kind (None: not for clients).
KIND_SCOPES: dict[str, str | None] = {
    "households": "households:read",
    "visits": "visits:read",
    "supports": "supports:read",
    "campaign-summaries": None,
}


def require_exporter(principal: Principal, kind: str) -> None:
    """403 for roles that never export, and for clients without the scopes of this kind."""
    if principal.role == Role.coordinator:
        return
    if principal.role == Role.integration:
        needed = [EXPORTS_SCOPE]
        extra = KIND_SCOPES[kind]
        if extra is None:
            raise Forbidden("exports.coordinators-only", params={"kind": kind})
        needed.append(extra)
        missing = [s for s in needed if s not in principal.scopes]
        if missing:
            raise Forbidden("detail.scope-forbidden", params={"scope": " ".join(missing)})
        return
    raise Forbidden("detail.role-forbidden", params={"roles": "coordinator, integration"})
