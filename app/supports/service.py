"""Supports: a household linked to a resource (``docs/care.md``).

Status flow ``proposed → requested → approved → provided``, or ``declined`` from proposed, requested or
approved. Every change is kept in ``support_history`` (who, when, from, to, why) and emits the event
``support.status_changed`` in the same transaction.

Who may do what (the rules the phone and the web console rely on):

* **see**: coordinators and planners: supports of the households the household policy lets them see;
  partners: supports of households they reach (assigned **and** consented, docs/access.md#consent-and-redaction), also
  those their
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

The ledger and possible duplicates: :mod:`app.supports.ledger`. Who may do what: :mod:`app.access.supports`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import policy
from app.access import supports as access
from app.access.supports import SupportView
from app.cases.models import Case
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_problem
from app.core.i18n import t
from app.core.principal import Principal
from app.core.times import local_today
from app.households.models import Household, HouseholdStatus
from app.journal import audit
from app.journal.outbox import emit
from app.monitoring.models import MonitoringSource
from app.monitoring.service import advance_household, ensure_plan
from app.resources.models import Resource, ResourceKind
from app.resources.service import give_back_unit, resources_by_id, take_unit
from app.supports.ledger import possible_duplicates
from app.supports.models import SUPPORT_TRANSITIONS, Support, SupportHistory, SupportStatus
from app.supports.repository import SupportRepository
from app.supports.schemas import SupportCreate, SupportPublic, SupportTransition, SupportUpdate
from app.visits.models import Visit

EDITABLE_STATUSES = (SupportStatus.proposed, SupportStatus.requested)


# --- reading ----------------------------------------------------------------------------------------------------


async def list_page(
    session: AsyncSession,
    principal: Principal,
    view: SupportView,
    *,
    limit: int,
    cursor: str | None,
    **filters: object,
) -> tuple[list[Support], str | None]:
    """One page of the supports ``view`` reaches (``filters``: :meth:`SupportRepository.listing`'s)."""
    repo = SupportRepository(session)
    stmt = repo.listing(view.clause, **filters)  # type: ignore[arg-type]
    return await repo.page(stmt, order=(Support.created_at, Support.id), limit=limit, cursor=cursor)


async def get_support_or_404(
    session: AsyncSession, principal: Principal, support_id: uuid.UUID
) -> tuple[Support, SupportView]:
    view = await access.support_view(session, principal)
    support = await SupportRepository(session).readable(support_id, view.clause)
    if support is None:
        raise NotFound()
    return support, view


async def history_page(
    session: AsyncSession, support: Support, *, limit: int, cursor: str | None
) -> tuple[list[SupportHistory], str | None]:
    """A support's status history, oldest first."""
    repo = SupportRepository(session)
    return await repo.page(
        repo.history(support.id), order=(SupportHistory.at, SupportHistory.id), limit=limit, cursor=cursor
    )


# --- shapes -----------------------------------------------------------------------------------------------------


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
        allowed_transitions=access.allowed_for(principal, support, kind, view),
        created_at=support.created_at,
        updated_at=support.updated_at,
    )


async def to_public_many(
    session: AsyncSession, principal: Principal, supports: Sequence[Support], view: SupportView
) -> list[SupportPublic]:
    resources = await resources_by_id(session, {s.resource_id for s in supports})
    return [to_public(principal, s, resources.get(s.resource_id), view) for s in supports]


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
    if not access.may_propose(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": ", ".join(r.value for r in access.SUPPORT_PROPOSERS)})
    household = await policy.get_household_or_404(session, principal, body.household_id)
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
    duplicate = await SupportRepository(session).open_of_resource(household.id, resource.id)
    if duplicate is not None:
        raise Conflict("conflict", "care.support-duplicate", extra={"support_id": str(duplicate)})
    now = utcnow()
    possible = await possible_duplicates(
        session, principal, household, resource, body.period_start, body.period_end, local_today(now)
    )
    if possible and not body.confirm:
        raise Conflict(
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
        raise Conflict(
            "support-illegal-transition",
            "care.support-illegal-transition",
            params={"from_status": support.status.value, "to_status": support.status.value, "allowed": "-"},
            extra={"allowed": []},
        )
    if not access.may_request(principal, support, view):
        raise Forbidden(
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
    raise Conflict(
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
    if not access.may_move(principal, support, resource.kind, view, to):
        if to == SupportStatus.requested:
            who = "care.who-household"
        elif resource.kind == ResourceKind.public_benefit:
            who = "care.who-coordinator"
        else:
            who = "care.who-provider"
        raise Forbidden(
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
