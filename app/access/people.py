"""The bounds of an admin over organizations, users and devices (``app.people``; ``docs/access.md``).

* an admin's own area is its principal's jurisdiction (its own, or its organization's when it has none);
* it manages its own organization while that organization lies within its area, and an admin of a public
  organization also manages the organizations whose whole jurisdiction lies **within** its area (a district
  office manages its dongs' centres; a dong centre never manages the district office, nor a centre of
  another dong). Codes are a 5-digit district or a 10-digit dong: *within* means equal to one of the
  admin's codes or a dong of one of its districts (:func:`app.core.principal.codes_within`);
* of those organizations it manages the users whose jurisdiction (their own, or their organization's) lies
  within its area, and their devices;
* it never changes its own organization's jurisdiction (no widening: only an admin above may), and every
  jurisdiction it gives (a new organization, another organization's, a user's) lies within its area, and a
  user's within the user's organization's too;
* which roles an organization's users may have: partners in private organizations, coordinators and planners
  in public ones; scopes only for integration clients, and those that open a whole jurisdiction
  (:data:`app.auth.models.PUBLIC_ONLY_SCOPES`) only for a public organization's.

The audit and webhook routes ask :func:`may_manage_org` too (through ``app.people.service``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.auth.models import Organization, User
from app.core.principal import INTEGRATION_SCOPES, PUBLIC_ONLY_SCOPES, OrgKind, Principal, Role, codes_within

#: What :func:`role_misfit` answers: the field, the message key and its parameters.
Misfit = tuple[str, str, dict[str, Any]]


def manages_people(principal: Principal) -> bool:
    """Whether the caller administers people at all (an admin); anyone else sees only their own devices."""
    return principal.role == Role.admin


def may_register_orgs(principal: Principal) -> bool:
    """Only an admin of a public organization registers (private partner) organizations."""
    return principal.org_kind == OrgKind.public


def within_reach(principal: Principal, codes: Sequence[str] | None) -> bool:
    """Whether an area lies within the admin's own (equal, or a dong of one of its districts)."""
    return codes_within(list(codes or ()), principal.jurisdiction)


def may_give_area(principal: Principal, codes: Sequence[str], org: Organization | None) -> bool:
    """A jurisdiction the admin gives lies within its own (and a user's within the user's organization's)."""
    return within_reach(principal, codes) and (org is None or codes_within(list(codes), org.jurisdiction))


def may_register_org_in(principal: Principal, kind: OrgKind, codes: Sequence[str]) -> bool:
    """A public admin registers private organizations within its own jurisdiction."""
    return kind != OrgKind.public and within_reach(principal, codes)


def user_area(user: User, org: Organization) -> list[str]:
    """A user's jurisdiction: their own when set, else their organization's (as their principal has it)."""
    return list(user.jurisdiction if user.jurisdiction is not None else org.jurisdiction)


def may_manage_org(principal: Principal, org: Organization) -> bool:
    if not manages_people(principal) or not within_reach(principal, org.jurisdiction):
        return False
    return org.id == principal.organization_id or principal.org_kind == OrgKind.public


def may_add_users_to(principal: Principal, org: Organization) -> bool:
    """The admin's own organization, or one it manages."""
    return org.id == principal.organization_id or may_manage_org(principal, org)


def may_manage_user(principal: Principal, user: User, org: Organization) -> bool:
    """A user whose area lies within the admin's, of the admin's own organization or of one it manages."""
    if not manages_people(principal) or not within_reach(principal, user_area(user, org)):
        return False
    return org.id == principal.organization_id or may_manage_org(principal, org)


def manageable_user_ids(
    principal: Principal, users: Sequence[tuple[uuid.UUID, list[str] | None, uuid.UUID]], orgs: dict[uuid.UUID, Any]
) -> list[uuid.UUID]:
    """Of ``users`` (id, own jurisdiction, organization id) of the organizations ``orgs`` the admin may manage
    (by id), those whose area lies within the admin's."""
    return [
        uid
        for uid, area, org_id in users
        if within_reach(principal, area if area is not None else orgs[org_id].jurisdiction)
    ]


def is_client_role(role: Role) -> bool:
    """Whether an account of ``role`` is an integration client (it gets a client secret, not a password)."""
    return role == Role.integration


def may_use_grant(role: Role, *, client_credentials: bool) -> bool:
    """An integration client signs in by client credentials only, a person by password only."""
    return is_client_role(role) == client_credentials


def role_misfit(role: Role, org: Organization, scopes: Sequence[str]) -> Misfit | None:
    """The first rule a user of ``role`` with ``scopes`` in ``org`` breaks, or None."""
    if role == Role.partner and org.kind != OrgKind.private:
        return ("body.role", "people.partner-private", {})
    if role in (Role.coordinator, Role.planner) and org.kind != OrgKind.public:
        return ("body.role", "people.public-role", {})
    unknown = sorted(set(scopes) - set(INTEGRATION_SCOPES))
    if unknown:
        return ("body.scopes", "people.unknown-scope", {"scopes": ", ".join(unknown)})
    if scopes and role != Role.integration:
        return ("body.scopes", "people.scopes-integration-only", {})
    wide = sorted(set(scopes) & PUBLIC_ONLY_SCOPES)
    if wide and org.kind != OrgKind.public:
        return ("body.scopes", "people.scope-public-only", {"scopes": ", ".join(wide)})
    return None
