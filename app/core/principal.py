"""Who calls: the roles, the kinds of organization, the scopes of integration clients and the authenticated
caller, resolved once per request (docs/access.md). On the ground floor: every layer may name them, none is
needed to do so (the tables that store them live in ``app.auth.models``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum


class OrgKind(StrEnum):
    public = "public"
    private = "private"


class Role(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    planner = "planner"
    partner = "partner"
    reporter = "reporter"
    integration = "integration"


#: Scopes an integration client may be granted.
INTEGRATION_SCOPES = (
    "households:import",
    "households:read",
    "visits:read",
    "supports:read",
    "events:read",
    "exports:read",
)
#: Scopes only a public organization's client may hold (docs/access.md): they open a whole jurisdiction.
PUBLIC_ONLY_SCOPES = frozenset({"households:read", "visits:read", "households:import"})


def in_codes(code: str | None, codes: list[str] | tuple[str, ...]) -> bool:
    """Whether an administrative code lies within any of ``codes`` (prefix match: district ⊃ dong)."""
    return bool(code) and any(code.startswith(c) for c in codes)  # type: ignore[union-attr]


def codes_within(codes: list[str] | tuple[str, ...], bounds: list[str] | tuple[str, ...]) -> bool:
    """Whether every code of ``codes`` lies within ``bounds`` (equal to one of them, or a dong of one of its
    districts). An empty set of codes lies within nothing: an area nobody named is nobody's to manage."""
    return bool(codes) and all(in_codes(code, bounds) for code in codes)


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    username: str
    role: Role
    organization_id: uuid.UUID
    org_kind: OrgKind
    jurisdiction: tuple[str, ...]
    scopes: frozenset[str] = field(default_factory=frozenset)
    session_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        # docs/access.md: a private organization's client acts under consent like its partners; the scopes that
        # open a whole jurisdiction are never in force for it, whatever was stored or signed.
        if self.role == Role.integration and self.org_kind != OrgKind.public and self.scopes & PUBLIC_ONLY_SCOPES:
            object.__setattr__(self, "scopes", self.scopes - PUBLIC_ONLY_SCOPES)

    @property
    def consent_bound(self) -> bool:
        """Whether what identifies a household reaches the caller only by assignment and consent (docs/access.md):
        partners, and the integration clients of private organizations."""
        return self.role == Role.partner or (self.role == Role.integration and self.org_kind != OrgKind.public)

    def in_jurisdiction(self, code: str | None) -> bool:
        return in_codes(code, self.jurisdiction)

    @property
    def is_field_worker(self) -> bool:
        return self.role in (Role.planner, Role.partner)
