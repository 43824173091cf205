"""What a caller may do with a household they reach (``docs/access.md``, households).

Whether a caller *reaches* a household at all is :func:`app.access.policy.household_filter` and
:func:`~app.access.policy.get_household_or_404`; this module holds the decisions the households domain asks
once a household is in hand: who may change which fields, search by name, coordinate, place a household in a
dong, merge, and which consents a caller is shown. It reads nothing and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from app.access.policy import PUBLIC_STAFF, codes_clause, consent_covers
from app.core.principal import Principal, Role, in_codes
from app.households.models import Consent, Household


def may_edit_all_fields(principal: Principal) -> bool:
    """Public staff change every field of a household; anyone else (a visiting partner) only the visitor's
    fields (contact, living situation, address detail)."""
    return principal.role in PUBLIC_STAFF


def may_search_by_text(principal: Principal) -> bool:
    """Only public staff search households by name, address or phone."""
    return principal.role in PUBLIC_STAFF


def coordinates_new_households(principal: Principal) -> bool:
    """A coordinator who registers a household coordinates it unless another coordinator is named."""
    return principal.role == Role.coordinator


def signal_author(principal: Principal) -> uuid.UUID | None:
    """Who a signal is recorded as coming from: the user, never an integration client (a machine)."""
    return principal.user_id if principal.role != Role.integration else None


def may_coordinate(user: Any, organization: Any, dong_code: str) -> bool:
    """Whether ``user`` (of ``organization``) may be named a household's coordinator in ``dong_code``: an active
    coordinator of an active organization whose jurisdiction (the user's own, else the organization's) holds it."""
    codes = user.jurisdiction if user.jurisdiction is not None else organization.jurisdiction
    return bool(
        user.active and organization.active and user.role == Role.coordinator and in_codes(dong_code, codes or [])
    )


def may_place(principal: Principal, dong_code: str | None) -> bool:
    """A household is registered (or moved) only into a dong of the caller's jurisdiction."""
    return principal.in_jurisdiction(dong_code)


def match_scope(principal: Principal) -> ColumnElement[bool]:
    """Where matching looks for an existing household: the caller's jurisdiction."""
    return codes_clause(Household.dong_code, principal.jurisdiction)


def consents_shown(principal: Principal, in_force: Iterable[Consent], at: datetime) -> list[Consent]:
    """The consents in force a caller is told of in a household's consent summary: a partner only those that
    cover their own organization (for one of the consent's purposes); everyone else all of them."""
    if principal.role != Role.partner:
        return list(in_force)
    return [c for c in in_force if any(consent_covers(c, principal.organization_id, p, at) for p in c.purposes or [])]


def merges_by_area(principal: Principal) -> bool:
    """An admin merges households by jurisdiction alone (admins never read households' data); a coordinator
    merges only households the household policy lets them see."""
    return principal.role == Role.admin


def may_merge_in(principal: Principal, dong_code: str | None) -> bool:
    """Both households of a merge (and of an unmerge) lie in the caller's jurisdiction."""
    return principal.in_jurisdiction(dong_code)
