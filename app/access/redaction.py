"""Redaction: which encrypted household fields a caller may read (``docs/access.md``, "Sensitive fields").

| kind | coordinator | planner | partner, integration |
| --- | --- | --- | --- |
| ``rrn`` (registration numbers) | only through ``POST …/reveal`` with a reason (audited) | never | never |
| ``income``, ``benefit_history``, ``health_notes`` | yes | yes | never |

``app.households`` applies it in the one view that renders a household for a caller.
"""

from __future__ import annotations

from app.core.principal import Principal, Role

#: Roles of the public side (coordinators and planners).
PUBLIC_STAFF = (Role.coordinator, Role.planner)

SENSITIVE_KINDS = ("rrn", "income", "benefit_history", "health_notes")


def sensitive_kinds_visible(principal: Principal) -> frozenset[str]:
    """The encrypted household fields a caller may read in ordinary responses (never ``rrn``: that one only
    leaves the server through :func:`may_reveal_rrn` and an audited reveal)."""
    if principal.role in PUBLIC_STAFF:
        return frozenset({"income", "benefit_history", "health_notes"})
    return frozenset()


def may_reveal_rrn(principal: Principal) -> bool:
    return principal.role == Role.coordinator
