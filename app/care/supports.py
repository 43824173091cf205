"""Supports: a household linked to a resource (DESIGN §2).

Status flow ``proposed → requested → approved → provided``, or ``declined`` from proposed, requested or
approved. Every change is kept in ``support_history`` (who, when, from, to, why) and emits the event
``support.status_changed`` in the same transaction.

Who may do what (the rules the phone and the web console rely on):

* **see**: coordinators and planners: supports of the households the household policy lets them see;
  partners: supports of households they reach (assigned **and** consented, DESIGN §3.2), also those their
  own organization provides: a support names its household, dong, resource and amount, so a support of a
  household the partner may not see answers 404 and is left out of lists like the household itself;
  integrations with ``supports:read``: the households the household policy gives them (a public
  organization's client with ``households:read`` its jurisdiction; a private one's, under consent, none).
* **propose** (create): coordinators, planners and partners who may see the household.
* **edit** amount, period, reason: whoever may request it, while proposed or requested.
* **request** (proposed → requested): coordinators, planners and partners who may see the household.
* **approve** (requested → approved): a public benefit by a coordinator whose jurisdiction covers the
  household; a private resource by the staff (coordinator, planner or partner) of its provider organization
  who see the support (for a partner: assigned to the household with consent).
* **mark provided** (approved → provided): whoever may approve it, and for a public benefit also the
  planners of the jurisdiction (they hand it over).
* **decline**: from proposed, whoever may request or approve it; from requested or approved, whoever may
  approve it.

An approved or provided support moves the household forward to ``supported``, and a monitoring plan to
``monitoring`` (never backwards; a closed household stays closed). Approval takes one unit of the
resource's capacity (409 ``resource-exhausted`` when none is left); a
declined approval gives it back. Marking a support provided starts a monitoring plan for the household
unless one is active (``schedule_monitoring: false`` to skip).

Possible duplicates (issue 18, item 4). Public and private supports pile up on one household: a proposal whose
**need** (:data:`NEED_OF_CATEGORY`: an energy voucher and heating fuel both meet ``heating``) and **period**
overlap another support of the household that is not declined answers 409 ``possible-duplicate-support``
naming the others (``duplicates``), unless the body says ``confirm: true`` (audited with the ids confirmed).
A period is ``period_start`` (else the day the support was proposed) to ``period_end`` (else open-ended);
both ends inclusive. Only supports the proposer may see in the ledger are compared (a partner never learns of
a benefit it may not see). A second open support of the *same resource* stays a hard 409 ``conflict``.

The ledger (``GET /v1/households/{id}/ledger``, :func:`ledger`): every support of the household with its
resource, provider, amount, period and status, the overlaps among them, and totals (by status, kind and need).
Public staff see every support of a household they may see. A private partner (who reaches the household
through an assignment and a consent) sees private resources only (public benefits are benefit history, which
partners never see, DESIGN §3.2): those of its own organization, and every provider's when a consent in force
covers its organization for ``service_linkage``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NoReturn

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import consent_covers, get_household_or_404, household_filter, partner_reach
from app.auth.models import Organization, Role
from app.auth.principal import Principal
from app.care.common import advance_household, field_problem, forbid_roles, local_date, local_today
from app.care.models import (
    SUPPORT_TRANSITIONS,
    Case,
    MonitoringSource,
    Resource,
    ResourceKind,
    Support,
    SupportHistory,
    SupportStatus,
)
from app.care.resources import give_back_unit, take_unit
from app.care.schemas import (
    LedgerAmounts,
    LedgerEntry,
    LedgerTotals,
    SupportCreate,
    SupportLedger,
    SupportPublic,
    SupportTransition,
    SupportUpdate,
)
from app.core.db import utcnow
from app.core.errors import Problem, not_found
from app.core.i18n import t
from app.households.models import Consent, ConsentPurpose, Household, HouseholdStatus
from app.journal import audit
from app.journal.outbox import emit
from app.visits.models import Visit

PROPOSERS = (Role.coordinator, Role.planner, Role.partner)
OPEN_STATUSES = (SupportStatus.proposed, SupportStatus.requested, SupportStatus.approved)
EDITABLE_STATUSES = (SupportStatus.proposed, SupportStatus.requested)


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
    households their assignments and consents open (nothing else, not even their organization's own
    supports of other households)."""
    alive = Support.deleted_at.is_(None)
    if principal.role in (Role.coordinator, Role.planner) or (
        principal.role == Role.integration and "supports:read" in principal.scopes
    ):
        households = select(Household.id).where(await household_filter(session, principal))
        return SupportView(alive & Support.household_id.in_(households), True, frozenset())
    if principal.role == Role.partner:
        reach = await partner_reach(session, principal)
        if not reach.consented:
            return SupportView(false(), False, frozenset())
        return SupportView(alive & Support.household_id.in_(list(reach.consented)), False, reach.consented)
    return SupportView(false(), False, frozenset())


async def get_support_or_404(
    session: AsyncSession, principal: Principal, support_id: uuid.UUID
) -> tuple[Support, SupportView]:
    view = await support_view(session, principal)
    support = (await session.execute(select(Support).where(Support.id == support_id, view.clause))).scalar_one_or_none()
    if support is None:
        raise not_found()
    return support, view


# --- rights ---------------------------------------------------------------------------------------------------


def may_decide(principal: Principal, support: Support, kind: ResourceKind) -> bool:
    if kind == ResourceKind.public_benefit:
        return principal.role == Role.coordinator and principal.in_jurisdiction(support.dong_code)
    return principal.role in PROPOSERS and principal.organization_id == support.provider_organization_id


def may_request(principal: Principal, support: Support, view: SupportView) -> bool:
    return principal.role in PROPOSERS and view.household_visible(support)


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


# --- shapes ---------------------------------------------------------------------------------------------------


async def resources_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Resource]:
    if not ids:
        return {}
    rows = (await session.execute(select(Resource).where(Resource.id.in_(ids)))).scalars()
    return {r.id: r for r in rows}


def to_public(principal: Principal, support: Support, resource: Resource | None, view: SupportView) -> SupportPublic:
    visible = view.household_visible(support)
    kind = resource.kind if resource is not None else ResourceKind.private_resource
    return SupportPublic(
        id=support.id,
        version=support.version,
        household_id=support.household_id,
        resource_id=support.resource_id,
        resource_name=resource.name if resource else None,
        resource_kind=resource.kind if resource else None,
        category=resource.category if resource else None,
        case_id=support.case_id,
        visit_id=support.visit_id,
        district_code=support.district_code,
        dong_code=support.dong_code,
        status=support.status,
        amount=support.amount,
        period_start=support.period_start,
        period_end=support.period_end,
        provider_organization_id=support.provider_organization_id,
        reason=support.reason if visible else None,
        proposed_by_id=support.proposed_by_id,
        approved_by_id=support.approved_by_id,
        status_changed_at=support.status_changed_at,
        requested_at=support.requested_at,
        approved_at=support.approved_at,
        provided_at=support.provided_at,
        declined_at=support.declined_at,
        decline_reason=support.decline_reason,
        household_visible=visible,
        allowed_transitions=allowed_for(principal, support, kind, view),
        created_at=support.created_at,
        updated_at=support.updated_at,
    )


async def to_public_many(
    session: AsyncSession, principal: Principal, supports: Sequence[Support], view: SupportView
) -> list[SupportPublic]:
    resources = await resources_by_id(session, {s.resource_id for s in supports})
    return [to_public(principal, s, resources.get(s.resource_id), view) for s in supports]


# --- writes ---------------------------------------------------------------------------------------------------


def _check_period(start: date | None, end: date | None, field: str = "body.period_end") -> None:
    if start is not None and end is not None and end < start:
        raise field_problem(field, "care.period-order")


def _history(
    support: Support, from_status: SupportStatus | None, principal: Principal | None, reason: str | None
) -> SupportHistory:
    return SupportHistory(
        support_id=support.id,
        from_status=from_status.value if from_status else None,
        to_status=support.status.value,
        actor_id=principal.user_id if principal else None,
        at=support.status_changed_at,
        reason=reason,
    )


def _emit(session: AsyncSession, support: Support, from_status: SupportStatus | None) -> None:
    emit(
        session,
        "support.status_changed",
        {
            "support_id": str(support.id),
            "household_id": str(support.household_id),
            "resource_id": str(support.resource_id),
            "case_id": str(support.case_id) if support.case_id else None,
            "from": from_status.value if from_status else None,
            "to": support.status.value,
            "version": support.version,
        },
        household_id=support.household_id,
        district_code=support.district_code,
    )


async def create_support(session: AsyncSession, principal: Principal, body: SupportCreate) -> Support:
    if principal.role not in PROPOSERS:
        raise forbid_roles(*PROPOSERS)
    household = await get_household_or_404(session, principal, body.household_id)
    resource = await session.get(Resource, body.resource_id)
    if resource is None or resource.deleted_at is not None or not resource.active:
        raise field_problem("body.resource_id", "care.unknown-resource")
    if resource.district_code != household.district_code:
        raise field_problem("body.resource_id", "care.resource-other-district")
    if body.case_id is not None:
        case = await session.get(Case, body.case_id)
        if case is None or case.deleted_at is not None or case.household_id != household.id:
            raise field_problem("body.case_id", "care.case-other-household")
    if body.visit_id is not None:
        visit = await session.get(Visit, body.visit_id)
        if visit is None or visit.deleted_at is not None or visit.household_id != household.id:
            raise field_problem("body.visit_id", "care.visit-other-household")
    _check_period(body.period_start, body.period_end)
    duplicate = (
        await session.execute(
            select(Support.id).where(
                Support.household_id == household.id,
                Support.resource_id == resource.id,
                Support.status.in_(OPEN_STATUSES),
                Support.deleted_at.is_(None),
            )
        )
    ).first()
    if duplicate is not None:
        raise Problem(409, "conflict", "care.support-duplicate", extra={"support_id": str(duplicate[0])})
    now = utcnow()
    possible = await possible_duplicates(
        session, principal, household, resource, body.period_start, body.period_end, local_today(now)
    )
    if possible and not body.confirm:
        raise Problem(
            409,
            "possible-duplicate-support",
            "care.possible-duplicate-support",
            params={"count": len(possible)},
            extra={"duplicates": [entry.model_dump(mode="json", exclude={"overlaps"}) for entry in possible]},
        )
    support = Support(
        household_id=household.id,
        resource_id=resource.id,
        case_id=body.case_id,
        visit_id=body.visit_id,
        district_code=household.district_code,
        dong_code=household.dong_code,
        status=SupportStatus.proposed,
        amount=body.amount if body.amount is not None else resource.default_amount,
        period_start=body.period_start,
        period_end=body.period_end,
        provider_organization_id=resource.provider_organization_id,
        reason=body.reason,
        proposed_by_id=principal.user_id,
        status_changed_at=now,
    )
    session.add(support)
    await session.flush()
    session.add(_history(support, None, principal, None))
    _emit(session, support, None)
    await audit.record(
        session,
        principal,
        "support.create",
        entity="support",
        entity_id=support.id,
        household_id=household.id,
        purpose="service_linkage",
        details={
            "resource_id": str(resource.id),
            **({"confirmed_duplicates": [str(e.support_id) for e in possible]} if possible else {}),
        },
    )
    return support


async def update_support(
    session: AsyncSession, principal: Principal, support: Support, view: SupportView, body: SupportUpdate
) -> Support:
    if support.status not in EDITABLE_STATUSES:
        raise Problem(
            409,
            "support-illegal-transition",
            "care.support-illegal-transition",
            params={"from_status": support.status.value, "to_status": support.status.value, "allowed": "-"},
            extra={"allowed": []},
        )
    if not may_request(principal, support, view):
        raise Problem(
            403,
            "forbidden",
            "care.support-not-approver",
            params={"action": t("care.action-edit"), "who": t("care.who-household")},
        )
    changes = body.model_dump(exclude_unset=True)
    start = changes.get("period_start", support.period_start)
    end = changes.get("period_end", support.period_end)
    _check_period(start, end)
    for name, value in changes.items():
        setattr(support, name, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        "support.update",
        entity="support",
        entity_id=support.id,
        household_id=support.household_id,
        details={"fields": sorted(changes)},
    )
    return support


def _illegal(support: Support, to: SupportStatus, allowed: tuple[SupportStatus, ...]) -> NoReturn:
    names = [s.value for s in allowed]
    raise Problem(
        409,
        "support-illegal-transition",
        "care.support-illegal-transition",
        params={"from_status": support.status.value, "to_status": to.value, "allowed": ", ".join(names) or "-"},
        extra={"allowed": names, "current_status": support.status.value},
    )


async def transition_support(
    session: AsyncSession, principal: Principal, support: Support, view: SupportView, body: SupportTransition
) -> Support:
    resource = await session.get(Resource, support.resource_id)
    assert resource is not None
    to = body.to
    allowed = SUPPORT_TRANSITIONS[support.status]
    if to not in allowed:
        _illegal(support, to, allowed)
    if not may_move(principal, support, resource.kind, view, to):
        if to == SupportStatus.requested:
            who = "care.who-household"
        elif resource.kind == ResourceKind.public_benefit:
            who = "care.who-coordinator"
        else:
            who = "care.who-provider"
        raise Problem(
            403,
            "forbidden",
            "care.support-not-approver",
            params={"action": t(f"care.action-{to.value}"), "who": t(who)},
        )
    monitoring_fields = body.monitoring_interval_days is not None or body.monitoring_owner_id is not None
    if monitoring_fields and to != SupportStatus.provided:
        raise field_problem("body.monitoring_interval_days", "care.not-closing")
    if to in (SupportStatus.requested, SupportStatus.approved):
        if body.amount is not None:
            support.amount = body.amount
        start = body.period_start if body.period_start is not None else support.period_start
        end = body.period_end if body.period_end is not None else support.period_end
        _check_period(start, end)
        support.period_start, support.period_end = start, end
    now = utcnow()
    from_status = support.status
    if to == SupportStatus.approved:
        support.capacity_taken = await take_unit(session, resource.id)
        support.approved_at = now
        support.approved_by_id = principal.user_id
    elif to == SupportStatus.requested:
        support.requested_at = now
    elif to == SupportStatus.provided:
        support.provided_at = now
    elif to == SupportStatus.declined:
        if support.capacity_taken:
            await give_back_unit(session, resource.id)
            support.capacity_taken = False
        support.declined_at = now
        support.decline_reason = body.reason
    support.status = to
    support.status_changed_at = now
    if to in (SupportStatus.approved, SupportStatus.provided):
        household = await session.get(Household, support.household_id)
        if household is not None:
            advance_household(household, HouseholdStatus.supported)
    await session.flush()
    session.add(_history(support, from_status, principal, body.reason))
    _emit(session, support, from_status)
    await audit.record(
        session,
        principal,
        "support.transition",
        entity="support",
        entity_id=support.id,
        household_id=support.household_id,
        purpose="service_linkage",
        details={"from": from_status.value, "to": to.value},
    )
    if to == SupportStatus.provided and body.schedule_monitoring:
        from app.care.monitoring import ensure_plan

        household = await session.get(Household, support.household_id)
        assert household is not None
        await ensure_plan(
            session,
            principal,
            household,
            owner_id=body.monitoring_owner_id or support.proposed_by_id,
            fallback_owner_id=None if body.monitoring_owner_id else principal.user_id,
            interval_days=body.monitoring_interval_days or 30,
            source=MonitoringSource.support,
            support_id=support.id,
            case_id=support.case_id,
            today=local_today(now),
            field="body.monitoring_owner_id",
        )
    return support


# --- the ledger and possible duplicates ------------------------------------------------------------------------

#: The need each catalog category meets: supports of one need in overlapping periods may be duplicates
#: (a public energy voucher and a private heating-fuel delivery both keep a home warm). A category not
#: listed is a need of its own.
NEED_OF_CATEGORY: dict[str, str] = {
    "energy_voucher": "heating",
    "heating_fuel": "heating",
    "emergency_welfare": "livelihood",
    "basic_livelihood": "livelihood",
    "living_support": "livelihood",
    "food_bank": "food",
    "medical_aid": "medical",
    "medical_expense": "medical",
    "housing_benefit": "housing",
    "housing_repair": "housing",
    "basic_pension": "pension",
    "disability_pension": "pension",
    "employment": "employment",
    "education_training": "employment",
    "care_service": "care",
    "counseling": "counseling",
    "childcare": "childcare",
}


def need_of(category: str | None) -> str | None:
    return None if category is None else NEED_OF_CATEGORY.get(category, category)


def _span(support: Support) -> tuple[date, date]:
    """A support's period, both ends inclusive: from ``period_start`` (else the day it was proposed) to
    ``period_end`` (else open-ended)."""
    return support.period_start or local_date(support.created_at), support.period_end or date.max


def _spans_overlap(a: tuple[date, date], b: tuple[date, date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


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
    """Public staff (and integrations that reach the household): everything; a partner: see :func:`ledger`."""
    if not principal.consent_bound:
        return LedgerScope(True, principal.organization_id, True)
    now = utcnow()
    consents = (
        await session.execute(
            select(Consent).where(
                Consent.household_id == household.id, Consent.status == "given", Consent.withdrawn_at.is_(None)
            )
        )
    ).scalars()
    linkage = any(
        consent_covers(c, principal.organization_id, ConsentPurpose.service_linkage.value, now) for c in consents
    )
    return LedgerScope(False, principal.organization_id, linkage)


async def _ledger_rows(
    session: AsyncSession, household_id: uuid.UUID, scope: LedgerScope
) -> list[tuple[Support, Resource | None]]:
    supports = list(
        (
            await session.execute(
                select(Support)
                .where(Support.household_id == household_id, Support.deleted_at.is_(None))
                .order_by(Support.created_at, Support.id)
            )
        ).scalars()
    )
    resources = await resources_by_id(session, {s.resource_id for s in supports})
    return [(s, resources.get(s.resource_id)) for s in supports if scope.shows(s, resources.get(s.resource_id))]


def _entry(
    support: Support, resource: Resource | None, providers: dict[uuid.UUID, str], overlaps: list[uuid.UUID]
) -> LedgerEntry:
    return LedgerEntry(
        support_id=support.id,
        version=support.version,
        resource_id=support.resource_id,
        resource_name=resource.name if resource else None,
        resource_kind=resource.kind if resource else None,
        category=resource.category if resource else None,
        need=need_of(resource.category if resource else None),
        provider_organization_id=support.provider_organization_id,
        provider_name=providers.get(support.provider_organization_id),
        amount=support.amount,
        period_start=support.period_start,
        period_end=support.period_end,
        status=support.status,
        status_changed_at=support.status_changed_at,
        proposed_at=support.created_at,
        provided_at=support.provided_at,
        case_id=support.case_id,
        visit_id=support.visit_id,
        overlaps=overlaps,
    )


async def _provider_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(list(ids))))
    return dict(rows.all())


async def possible_duplicates(
    session: AsyncSession,
    principal: Principal,
    household: Household,
    resource: Resource,
    period_start: date | None,
    period_end: date | None,
    today: date,
) -> list[LedgerEntry]:
    """The supports of the household (not declined, visible to the proposer in the ledger) that meet the same
    need as ``resource`` in a period overlapping the one proposed."""
    need = need_of(resource.category)
    span = (period_start or today, period_end or date.max)
    scope = await ledger_scope(session, principal, household)
    found = [
        (s, r)
        for s, r in await _ledger_rows(session, household.id, scope)
        if s.status != SupportStatus.declined
        and r is not None
        and need_of(r.category) == need
        and _spans_overlap(_span(s), span)
    ]
    providers = await _provider_names(session, {s.provider_organization_id for s, _ in found})
    return [_entry(s, r, providers, []) for s, r in found]


async def ledger(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, statuses: list[SupportStatus] | None = None
) -> SupportLedger:
    """The support ledger of a household the caller may see (404 otherwise), audited."""
    household = await get_household_or_404(session, principal, household_id)
    scope = await ledger_scope(session, principal, household)
    rows = await _ledger_rows(session, household.id, scope)
    if statuses:
        rows = [(s, r) for s, r in rows if s.status in statuses]
    providers = await _provider_names(session, {s.provider_organization_id for s, _ in rows})
    live = [(s, r) for s, r in rows if s.status != SupportStatus.declined]
    entries = []
    for support, resource in rows:
        overlaps: list[uuid.UUID] = []
        if support.status != SupportStatus.declined and resource is not None:
            need = need_of(resource.category)
            overlaps = [
                other.id
                for other, other_resource in live
                if other.id != support.id
                and other_resource is not None
                and need_of(other_resource.category) == need
                and _spans_overlap(_span(support), _span(other))
            ]
        entries.append(_entry(support, resource, providers, overlaps))
    totals = _totals(entries)
    await audit.record(
        session,
        principal,
        "household.ledger",
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        purpose="service_linkage",
        details={"entries": len(entries), "scope": "all" if scope.all else "consented"},
    )
    return SupportLedger(
        household_id=household.id, scope="all" if scope.all else "consented", entries=entries, totals=totals
    )


def _totals(entries: list[LedgerEntry]) -> LedgerTotals:
    by_status: dict[str, LedgerAmounts] = {s.value: LedgerAmounts() for s in SupportStatus}
    by_kind: dict[str, LedgerAmounts] = {k.value: LedgerAmounts() for k in ResourceKind}
    by_need: dict[str, LedgerAmounts] = {}
    amounts = {"provided": 0, "approved": 0, "pending": 0}
    for e in entries:
        amount = e.amount or 0
        cell = by_status[e.status.value]
        cell.count += 1
        cell.amount += amount
        if e.status == SupportStatus.declined:
            continue
        if e.resource_kind is not None:
            by_kind[e.resource_kind.value].count += 1
            by_kind[e.resource_kind.value].amount += amount
        need = by_need.setdefault(e.need or "unknown", LedgerAmounts())
        need.count += 1
        need.amount += amount
        if e.status == SupportStatus.provided:
            amounts["provided"] += amount
        elif e.status == SupportStatus.approved:
            amounts["approved"] += amount
        else:
            amounts["pending"] += amount
    return LedgerTotals(
        count=len(entries),
        amount=sum(amounts.values()),
        by_status=by_status,
        by_kind=by_kind,
        by_need=dict(sorted(by_need.items())),
        **amounts,
    )
