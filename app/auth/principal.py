"""The authenticated caller, resolved once per request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.auth.models import OrgKind, Role


def in_codes(code: str | None, codes: list[str] | tuple[str, ...]) -> bool:
    """Whether an administrative code lies within any of ``codes`` (prefix match: district ⊃ dong)."""
    return bool(code) and any(code.startswith(c) for c in codes)  # type: ignore[union-attr]


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

    def in_jurisdiction(self, code: str | None) -> bool:
        return in_codes(code, self.jurisdiction)

    @property
    def is_field_worker(self) -> bool:
        return self.role in (Role.planner, Role.partner)
