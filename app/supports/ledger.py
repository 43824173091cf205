"""The support ledger of a household and possible duplicate supports (``docs/care.md``).

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
partners never see, docs/access.md#consent-and-redaction): those of its own organization, and every provider's when a
consent in force
covers its organization for ``service_linkage``.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import policy
from app.access.supports import LedgerScope, ledger_scope
from app.core.principal import Principal
from app.core.times import local_date
from app.households.models import Household
from app.journal import audit
from app.resources.models import Resource, ResourceKind
from app.resources.service import resources_by_id
from app.supports.models import Support, SupportStatus
from app.supports.repository import SupportRepository
from app.supports.schemas import LedgerAmounts, LedgerEntry, LedgerTotals, SupportLedger

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


async def _ledger_rows(
    session: AsyncSession, household_id: uuid.UUID, scope: LedgerScope
) -> list[tuple[Support, Resource | None]]:
    supports = await SupportRepository(session).of_household(household_id)
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
    return await SupportRepository(session).organization_names(ids)


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
    household = await policy.get_household_or_404(session, principal, household_id)
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
