"""The one view of a visit as it leaves the server, over REST and in a sync pull alike (``docs/access.md``, visits).

A partner on the team whom no consent covers for the visit's household gets the restricted view
(:class:`app.visits.schemas.VisitRestrictedPublic`); everyone else who sees the visit the full one. Every visit
shown with its household is audited (:func:`audit_visit_reads`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import policy
from app.core.db import utcnow
from app.core.principal import Principal
from app.households.clocks import state_of
from app.journal import audit
from app.visits.models import FINISHED, Visit, VisitStatus
from app.visits.repository import VisitRepository
from app.visits.schemas import TeamMember, VisitPublic, VisitRestrictedPublic

#: The statuses of a visit whose clock runs (the ``visit.window`` rule of app.households.clocks).
OPEN_VISIT = (VisitStatus.scheduled, VisitStatus.in_progress)


def is_overdue(visit: Visit, now: datetime) -> bool:
    return visit.status not in FINISHED and visit.window_end < now


def visit_due_at(visit: Visit) -> datetime | None:
    """An open visit is due at the end of its window (docs/winter.md)."""
    return visit.window_end if visit.status in OPEN_VISIT and visit.deleted_at is None else None


def visit_deadline_fields(visit: Visit, now: datetime | None = None) -> dict[str, Any]:
    """``due_at`` and ``deadline_state`` of a visit as REST and sync show them."""
    due = visit_due_at(visit)
    return {"due_at": due, "deadline_state": state_of(due, now or utcnow(), "visit.window")}


async def load_teams(session: AsyncSession, visit_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[TeamMember]]:
    """Active team members of each visit, lead first."""
    out: dict[uuid.UUID, list[TeamMember]] = {vid: [] for vid in visit_ids}
    if not visit_ids:
        return out
    for assignee, user, org in await VisitRepository(session).active_teams(visit_ids):
        out[assignee.visit_id].append(
            TeamMember(
                user_id=user.id,
                display_name=user.display_name,
                role=user.role,
                phone=user.phone,
                organization_id=org.id,
                organization_name=org.name,
                organization_kind=org.kind,
                lead=assignee.lead,
            )
        )
    return out


async def visit_views(
    session: AsyncSession,
    principal: Principal,
    visits: Sequence[Visit],
    *,
    reach: policy.PartnerReach | None = None,
    household_open: Callable[[Visit], bool] | None = None,
) -> list[VisitPublic | VisitRestrictedPublic]:
    """Every visit that leaves the server goes through here, over REST and in a sync pull alike: the full
    view, or for a partner whom no consent covers for the visit's household the restricted one (see
    app.visits.schemas). ``household_open`` replaces the policy's question where the caller already knows
    the answer (a pull decides it once for the device's whole scope, ``app.sync.scope``)."""
    if not visits:
        return []
    if principal.consent_bound and reach is None and household_open is None:
        reach = await policy.partner_reach(session, principal)
    teams = await load_teams(session, [v.id for v in visits])
    now = utcnow()
    out: list[VisitPublic | VisitRestrictedPublic] = []
    for v in visits:
        team = teams.get(v.id, [])
        common = {
            "id": v.id,
            "version": v.version,
            "dong_code": v.dong_code,
            "purpose": v.purpose,
            "status": v.status,
            "window_start": v.window_start,
            "window_end": v.window_end,
            "assignees": [m.user_id for m in team],
            "team": team,
            "overdue": is_overdue(v, now),
            **visit_deadline_fields(v, now),  # the visit's clock (docs/winter.md)
        }
        opened = (
            household_open(v)
            if household_open is not None
            else await policy.visit_household_visible(session, principal, v, reach)
        )
        if not opened:
            out.append(VisitRestrictedPublic(**common))
            continue
        out.append(
            VisitPublic(
                **common,
                household_id=v.household_id,
                facility_id=v.facility_id,
                campaign_id=v.campaign_id,
                checklists=list(v.checklists or []),
                expected_photos=list(v.expected_photos or []),
                outcome=v.outcome,
                checked_in_at=v.checked_in_at,
                checked_in_device_at=v.checked_in_device_at,
                checked_out_at=v.checked_out_at,
                checked_out_device_at=v.checked_out_device_at,
                cancel_reason=v.cancel_reason,
                created_by_id=v.created_by_id,
                created_at=v.created_at,
                updated_at=v.updated_at,
            )
        )
    return out


async def audit_visit_reads(
    session: AsyncSession, principal: Principal, visits: Sequence[Visit], views: Sequence[Any]
) -> None:
    """One audit event per visit shown with its household (a visit of a household is that household's data)."""
    items = [
        (v.id, v.household_id)
        for v, view in zip(visits, views, strict=True)
        if v.household_id is not None and isinstance(view, VisitPublic)
    ]
    await audit.record_many(session, principal, "visit.read", entity="visit", items=items)
