"""Who reaches the resource catalog and supports, and who may move a support (``docs/access.md``).

Resources are reference data: every role in the field (admin, coordinator, planner, partner) reads the
catalog of the districts of their jurisdiction; admins and coordinators manage it there.

Supports are reached through the household policy (``household_filter``): coordinators and planners the
supports of the households they may see; integrations with ``supports:read`` the households the policy gives
them; a partner the households their assignments and consents open (nothing else, not even their
organization's own supports of other households).

Moves (the rules the phone and the web console rely on):

* **propose**, **edit**, **request**: coordinators, planners and partners who may see the household;
* **approve**: a public benefit by a coordinator whose jurisdiction covers the household; a private resource
  by the staff of its provider organization who see the support;
* **mark provided**: whoever may approve it, and for a public benefit also the planners of the jurisdiction;
* **decline**: from proposed, whoever may request or approve it; from requested or approved, whoever may
  approve it.

A household's support ledger: public staff (and integrations that reach the household) see every support; a
private partner private resources only, its own organization's, and every provider's under a consent in force
for ``service_linkage``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access.consent import consent_covers
from app.access.reach import household_filter, partner_reach
from app.core.db import utcnow
from app.core.principal import Principal, Role
from app.households.models import Consent, ConsentPurpose, Household
from app.resources.models import Resource, ResourceKind
from app.supports.models import SUPPORT_TRANSITIONS, Support, SupportStatus

# --- the resource catalog ------------------------------------------------------------------------------------

RESOURCE_READERS = (Role.admin, Role.coordinator, Role.planner, Role.partner)
RESOURCE_MANAGERS = (Role.admin, Role.coordinator)


def districts_of(codes: tuple[str, ...] | list[str]) -> set[str]:
    """The districts (5-digit codes) of administrative ``codes``."""
    return {c[:5] for c in codes if len(c) >= 5}


def resource_districts(principal: Principal) -> list[str]:
    """The districts whose catalog the caller reads (and a phone holds)."""
    if principal.role not in RESOURCE_READERS:
        return []
    return sorted(districts_of(principal.jurisdiction))


def resource_filter(principal: Principal) -> ColumnElement[bool]:
    """The live catalog entries of the districts of the caller's jurisdiction."""
    districts = resource_districts(principal)
    if not districts:
        return false()
    return col(Resource.district_code).in_(districts) & col(Resource.deleted_at).is_(None)


def may_manage_resources(principal: Principal) -> bool:
    return principal.role in RESOURCE_MANAGERS


def may_place_resource(principal: Principal, district_code: str) -> bool:
    """A manager adds resources to the districts of their jurisdiction only."""
    return district_code in districts_of(principal.jurisdiction)


# --- which supports a caller reaches ---------------------------------------------------------------------------

SUPPORT_PROPOSERS = (Role.coordinator, Role.planner, Role.partner)


@dataclass(frozen=True)
class SupportView:
    """What one caller reaches among supports: the SQL scope and which households they may see."""

    clause: ColumnElement[bool]
    all_households_visible: bool  # public staff and integrations: the scope is the household policy itself
    consented: frozenset[uuid.UUID]  # households visible to a partner

    def household_visible(self, support: Support) -> bool:
        return self.all_households_visible or support.household_id in self.consented


async def support_view(session: AsyncSession, principal: Principal) -> SupportView:
    """Supports are reached through the household policy: ``household_filter``, and for a partner the
    households their assignments and consents open."""
    alive = col(Support.deleted_at).is_(None)
    if principal.role in (Role.coordinator, Role.planner) or (
        principal.role == Role.integration and "supports:read" in principal.scopes
    ):
        households = select(col(Household.id)).where(await household_filter(session, principal))
        return SupportView(alive & col(Support.household_id).in_(households), True, frozenset())
    if principal.role == Role.partner:
        reach = await partner_reach(session, principal)
        if not reach.consented:
            return SupportView(false(), False, frozenset())
        return SupportView(alive & col(Support.household_id).in_(list(reach.consented)), False, reach.consented)
    return SupportView(false(), False, frozenset())


# --- who may move a support ------------------------------------------------------------------------------------


def may_propose(principal: Principal) -> bool:
    return principal.role in SUPPORT_PROPOSERS


def may_decide(principal: Principal, support: Support, kind: ResourceKind) -> bool:
    if kind == ResourceKind.public_benefit:
        return principal.role == Role.coordinator and principal.in_jurisdiction(support.dong_code)
    return principal.role in SUPPORT_PROPOSERS and principal.organization_id == support.provider_organization_id


def may_request(principal: Principal, support: Support, view: SupportView) -> bool:
    return principal.role in SUPPORT_PROPOSERS and view.household_visible(support)


def may_move(principal: Principal, support: Support, kind: ResourceKind, view: SupportView, to: SupportStatus) -> bool:
    if to == SupportStatus.requested:
        return may_request(principal, support, view)
    if to == SupportStatus.approved:
        return may_decide(principal, support, kind)
    if to == SupportStatus.provided:
        public_planner = (
            kind == ResourceKind.public_benefit
            and principal.role == Role.planner
            and principal.in_jurisdiction(support.dong_code)
        )
        return may_decide(principal, support, kind) or public_planner
    if to == SupportStatus.declined:
        if support.status == SupportStatus.proposed and may_request(principal, support, view):
            return True
        return may_decide(principal, support, kind)
    return False


def allowed_for(principal: Principal, support: Support, kind: ResourceKind, view: SupportView) -> list[SupportStatus]:
    return [s for s in SUPPORT_TRANSITIONS[support.status] if may_move(principal, support, kind, view, s)]


# --- the ledger's scope ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerScope:
    """Which supports of a household the caller sees in its ledger."""

    all: bool
    organization_id: uuid.UUID
    other_providers: bool  # a partner: also other providers' private supports (service_linkage consent)

    def shows(self, support: Support, resource: Resource | None) -> bool:
        if self.all:
            return True
        if resource is None or resource.kind != ResourceKind.private_resource:
            return False
        return self.other_providers or support.provider_organization_id == self.organization_id


async def ledger_scope(session: AsyncSession, principal: Principal, household: Household) -> LedgerScope:
    """Public staff (and integrations that reach the household): everything; a consent-bound caller: private
    resources, other providers' only under a ``service_linkage`` consent in force for its organization."""
    if not principal.consent_bound:
        return LedgerScope(True, principal.organization_id, True)
    now = utcnow()
    consents = (
        await session.execute(
            select(Consent).where(
                col(Consent.household_id) == household.id,
                col(Consent.status) == "given",
                col(Consent.withdrawn_at).is_(None),
            )
        )
    ).scalars()
    linkage = any(
        consent_covers(c, principal.organization_id, ConsentPurpose.service_linkage.value, now) for c in consents
    )
    return LedgerScope(False, principal.organization_id, linkage)
