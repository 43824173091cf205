"""Visits: creation, teams, the status state machine, check-in/out and overdue (``docs/architecture.md``).

The one view of a visit is :mod:`app.visits.views`, facilities are :mod:`app.visits.facilities`, every query is
in :mod:`app.visits.repository`, and who may do what is :mod:`app.access.visits`.

Teams
    One or more assignees, each an active planner, partner or coordinator of an active organization whose
    jurisdiction covers the visit's dong; a ``joint_consultation`` needs at least one member of a public
    and one of a private organization. Changing the team ends removed assignments (``ended_at``; rows are
    never deleted) and bumps the visit's version, so phones learn of it on their next pull.

Status
    ``app.visits.models.TRANSITIONS``; anything else answers 409 with the allowed targets. Moving to
    ``in_progress`` checks in (server time, and the device's time from ``at``); moving to ``completed``,
    ``no_contact`` or ``refused`` checks out. Team members and public staff of the jurisdiction change the
    status; only public staff cancel. A completed visit emits ``visit.completed`` and moves its household
    forward (:func:`app.households.service.advance_after_visit`).

Overdue
    A visit whose window has ended and that is not finished. Lists filter on it with ``overdue=true``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import registry
from app.access import policy
from app.access import visits as access
from app.auth.models import Organization, User
from app.core.db import utcnow
from app.core.errors import Conflict, FieldInvalid, Forbidden, field_problem
from app.core.principal import OrgKind, Principal
from app.core.times import rfc3339
from app.households import service as households
from app.households.models import Household
from app.journal import audit
from app.journal.outbox import emit
from app.visits import messages as _messages  # noqa: F401  (registers the messages)
from app.visits.models import (
    FINISHED,
    TRANSITIONS,
    Facility,
    Visit,
    VisitAssignee,
    VisitPurpose,
    VisitStatus,
    VisitTransition,
)
from app.visits.repository import VisitRepository
from app.visits.schemas import ChecklistPin, Location, VisitCreate, VisitUpdate

MAX_WINDOW = timedelta(days=31)
CHECK_OUT = (VisitStatus.completed, VisitStatus.no_contact, VisitStatus.refused)

# --- validation ------------------------------------------------------------------------------------------------


async def validate_team(
    session: AsyncSession,
    dong_code: str,
    purpose: VisitPurpose,
    assignee_ids: list[uuid.UUID],
    lead_id: uuid.UUID | None,
    *,
    field: str = "body.assignees",
) -> list[tuple[User, Organization]]:
    errors: list[tuple[str, str, dict[str, Any]]] = []
    seen: set[uuid.UUID] = set()
    for i, uid in enumerate(assignee_ids):
        if uid in seen:
            errors.append((f"{field}.{i}", "visits.duplicate", {"value": str(uid)}))
        seen.add(uid)
    rows = await VisitRepository(session).users_with_organizations(seen)
    team: list[tuple[User, Organization]] = []
    for i, uid in enumerate(dict.fromkeys(assignee_ids)):
        found = rows.get(uid)
        if found is None:
            errors.append((f"{field}.{i}", "visits.assignee-unknown", {}))
            continue
        user, org = found
        if not access.may_join_team(user, org, dong_code):
            errors.append((f"{field}.{i}", "visits.assignee-unknown", {}))
            continue
        team.append(found)
    if not errors and purpose == VisitPurpose.joint_consultation:
        kinds = {org.kind for _, org in team}
        if not {OrgKind.public, OrgKind.private} <= kinds:
            errors.append((field, "visits.joint-needs-both", {}))
    if lead_id is not None and lead_id not in seen:
        errors.append(("body.lead_id", "visits.lead-not-assignee", {}))
    if errors:
        raise FieldInvalid(errors)
    return team


async def validate_checklists(session: AsyncSession, pins: list[ChecklistPin], field: str = "body.checklists") -> None:
    """Pinned template versions must exist and be published: the checklists domain answers (app.checklists.visits,
    through the registry), so that visits import nothing of it."""
    answering = [m for m in registry.extensions("visits") if hasattr(m, "published_pins")]
    if not pins or not answering:
        return
    wanted = [(p.key, p.version) for p in pins]
    found: set[tuple[str, int]] = set()
    for module in answering:
        found |= await module.published_pins(session, wanted)
    errors = [
        (f"{field}.{i}", "visits.checklist-unknown", {"template": p.key, "version": p.version})
        for i, p in enumerate(pins)
        if (p.key, p.version) not in found
    ]
    if errors:
        raise FieldInvalid(errors)


def validate_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise field_problem("body.window_end", "visits.window-order")
    if end - start > MAX_WINDOW:
        raise field_problem("body.window_end", "visits.window-too-long", days=MAX_WINDOW.days)


async def validate_campaign(session: AsyncSession, campaign_id: uuid.UUID | None) -> None:
    if campaign_id is None:
        return
    # the campaigns domain answers (app.campaigns.visits, through the registry): visits import nothing of it
    for module in registry.extensions("visits"):
        if hasattr(module, "campaign_open") and await module.campaign_open(session, campaign_id):
            return
    raise field_problem("body.campaign_id", "visits.campaign-unknown")


# --- create and change -----------------------------------------------------------------------------------------


async def set_team(
    session: AsyncSession, visit: Visit, team: list[tuple[User, Organization]], lead_id: uuid.UUID | None
) -> dict[str, int]:
    """Make the active team exactly ``team``: end removed assignments, revive or add the others."""
    now = utcnow()
    lead = lead_id or (team[0][0].id if team else None)
    wanted = {user.id: org for user, org in team}
    rows = {row.user_id: row for row in await VisitRepository(session).assignments(visit.id)}
    added = removed = 0
    for user_id, row in rows.items():
        if user_id not in wanted and row.ended_at is None:
            row.ended_at = now
            row.lead = False
            removed += 1
    for user_id, org in wanted.items():
        row = rows.get(user_id)
        if row is None:
            session.add(VisitAssignee(visit_id=visit.id, user_id=user_id, organization_id=org.id, lead=user_id == lead))
            added += 1
            continue
        if row.ended_at is not None:
            row.ended_at = None
            added += 1
        if row.organization_id != org.id:
            row.organization_id = org.id
        if row.lead != (user_id == lead):
            row.lead = user_id == lead
    visit.updated_at = now  # the team is part of the visit: new version, and a sync change
    await session.flush()
    return {"added": added, "removed": removed}


async def _target(session: AsyncSession, principal: Principal, body: VisitCreate) -> tuple[str, str]:
    """(dong_code, district_code) of the visit's target, which must be in the caller's jurisdiction."""
    if (body.household_id is None) == (body.facility_id is None):
        raise field_problem("body.household_id", "visits.target-required")
    if body.household_id is not None:
        if body.purpose == VisitPurpose.safety_inspection:
            raise field_problem("body.purpose", "visits.safety-needs-facility")
        household = await session.get(Household, body.household_id)
        if (
            household is None
            or not access.may_schedule_in(principal, household.dong_code)
            or not await policy.can_see_household(session, principal, household)
        ):
            raise field_problem("body.household_id", "visits.target-unknown")
        return household.dong_code, household.district_code
    facility = await session.get(Facility, body.facility_id)
    if facility is None or not facility.active or not access.may_schedule_in(principal, facility.dong_code):
        raise field_problem("body.facility_id", "visits.target-unknown")
    return facility.dong_code, facility.district_code


async def create_visit(session: AsyncSession, principal: Principal, body: VisitCreate) -> Visit:
    dong_code, _district = await _target(session, principal, body)
    validate_window(body.window_start, body.window_end)
    team = await validate_team(session, dong_code, body.purpose, list(body.assignees), body.lead_id)
    await validate_campaign(session, body.campaign_id)
    await validate_checklists(session, list(body.checklists))
    visit = Visit(
        household_id=body.household_id,
        facility_id=body.facility_id,
        dong_code=dong_code,
        purpose=body.purpose,
        status=VisitStatus.scheduled,
        campaign_id=body.campaign_id,
        window_start=body.window_start,
        window_end=body.window_end,
        checklists=[p.model_dump() for p in body.checklists],
        expected_photos=[p.model_dump() for p in body.expected_photos],
        created_by_id=principal.user_id,
    )
    session.add(visit)
    await session.flush()
    lead = body.lead_id or team[0][0].id
    session.add_all(
        VisitAssignee(visit_id=visit.id, user_id=user.id, organization_id=org.id, lead=user.id == lead)
        for user, org in team
    )
    await session.flush()
    await audit.record(
        session,
        principal,
        "visit.create",
        entity="visit",
        entity_id=visit.id,
        household_id=visit.household_id,
        details={"team": len(team), "purpose": visit.purpose.value},
    )
    return visit


def _finished(visit: Visit) -> Conflict:
    return Conflict("visit-finished", "visits.finished", params={"status": visit.status.value})


async def update_visit(session: AsyncSession, principal: Principal, visit: Visit, body: VisitUpdate) -> Visit:
    changes = body.model_dump(exclude_unset=True)
    if any(changes.get(k, 1) is None for k in ("purpose", "window_start", "window_end", "checklists", "assignees")):
        raise FieldInvalid(
            [
                (f"body.{k}", "households.required", {})
                for k in ("purpose", "window_start", "window_end", "checklists", "assignees")
                if k in changes and changes[k] is None
            ]
        )
    if visit.status in FINISHED and set(changes) - {"outcome"}:
        raise _finished(visit)
    purpose = VisitPurpose(changes.get("purpose", visit.purpose))
    if purpose == VisitPurpose.safety_inspection and visit.household_id is not None:
        raise field_problem("body.purpose", "visits.safety-needs-facility")
    start = changes.get("window_start", visit.window_start)
    end = changes.get("window_end", visit.window_end)
    if "window_start" in changes or "window_end" in changes:
        validate_window(start, end)
    if "campaign_id" in changes:
        await validate_campaign(session, changes["campaign_id"])
    if body.checklists is not None:
        await validate_checklists(session, list(body.checklists))
    team_result: dict[str, int] | None = None
    if body.assignees is not None or "purpose" in changes or "lead_id" in changes:
        ids = list(body.assignees) if body.assignees is not None else await _active_ids(session, visit)
        team = await validate_team(session, visit.dong_code, purpose, ids, body.lead_id)
        if body.assignees is not None or "lead_id" in changes:
            team_result = await set_team(session, visit, team, body.lead_id or (ids[0] if ids else None))
    values = {
        "purpose": purpose,
        "window_start": start,
        "window_end": end,
        "campaign_id": changes.get("campaign_id", visit.campaign_id),
        "outcome": changes.get("outcome", visit.outcome),
    }
    if body.checklists is not None:
        values["checklists"] = [p.model_dump() for p in body.checklists]
    if body.expected_photos is not None:
        values["expected_photos"] = [p.model_dump() for p in body.expected_photos]
    for name, value in values.items():
        if getattr(visit, name) != value:
            setattr(visit, name, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        "visit.update",
        entity="visit",
        entity_id=visit.id,
        household_id=visit.household_id,
        details={"fields": sorted(changes), **({"team": team_result} if team_result else {})},
    )
    return visit


async def _active_ids(session: AsyncSession, visit: Visit) -> list[uuid.UUID]:
    return await VisitRepository(session).active_assignee_ids(visit.id)


async def replace_team(
    session: AsyncSession, principal: Principal, visit: Visit, assignees: list[uuid.UUID], lead_id: uuid.UUID | None
) -> Visit:
    if visit.status in FINISHED:
        raise _finished(visit)
    team = await validate_team(session, visit.dong_code, visit.purpose, assignees, lead_id)
    result = await set_team(session, visit, team, lead_id)
    await audit.record(
        session,
        principal,
        "visit.team.update",
        entity="visit",
        entity_id=visit.id,
        household_id=visit.household_id,
        details=result,
    )
    return visit


# --- transitions -------------------------------------------------------------------------------------------------


def _location(location: dict[str, Any] | None) -> dict[str, Any] | None:
    if location is None:
        return None
    try:
        return Location.model_validate(location).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise field_problem("body.location", "visits.location") from exc


async def transition_visit(
    session: AsyncSession,
    principal: Principal,
    visit: Visit,
    to: VisitStatus,
    *,
    outcome: str | None,
    device_at: datetime | None,
    location: dict[str, Any] | None,
    reason: str | None = None,
) -> Visit:
    """Move a visit along the state machine (REST and the phone's sync push both call this).

    Raises Problem 409 (``illegal-transition``, with ``from``, ``to`` and ``allowed``) on a move the
    state machine does not allow, 403 when the caller may not change this visit's status (not on its team
    and not public staff of its jurisdiction; only public staff cancel), 422 on a bad device time or
    location."""
    to = VisitStatus(to)
    if not await access.may_transition(session, principal, visit):
        raise Forbidden("visits.not-team")
    if to == VisitStatus.cancelled and not access.may_cancel(principal):
        raise Forbidden("visits.cancel-forbidden")
    current = VisitStatus(visit.status)
    allowed = TRANSITIONS[current]
    if to not in allowed:
        raise Conflict(
            "illegal-transition",
            "visits.illegal-transition",
            params={
                "from_status": current.value,
                "to_status": to.value,
                "allowed": ", ".join(a.value for a in allowed) or "-",
            },
            extra={"from": current.value, "to": to.value, "allowed": [a.value for a in allowed]},
        )
    if device_at is not None and device_at.tzinfo is None:
        raise field_problem("body.at", "visits.device-time")
    place = _location(location)
    if outcome is not None and len(outcome) > 4000:
        raise field_problem("body.outcome", "field.string_too_long")
    now = utcnow()
    if to == VisitStatus.in_progress:
        visit.checked_in_at = now
        visit.checked_in_device_at = device_at
    elif to in CHECK_OUT:
        visit.checked_out_at = now
        visit.checked_out_device_at = device_at
    elif to == VisitStatus.cancelled:
        visit.cancel_reason = (reason or outcome or "")[:500] or None
    if outcome is not None:
        visit.outcome = outcome
    visit.status = to
    session.add(
        VisitTransition(
            visit_id=visit.id,
            from_status=current.value,
            to_status=to.value,
            actor_id=principal.user_id,
            device_at=device_at,
            server_at=now,
            note=(reason if to == VisitStatus.cancelled else None),
            location=place,
        )
    )
    await session.flush()
    advanced = None
    if to == VisitStatus.completed:
        household = await session.get(Household, visit.household_id) if visit.household_id else None
        if household is not None:
            advanced = await households.advance_after_visit(
                session,
                household,
                purpose=visit.purpose.value,
                started_at=visit.checked_in_at or visit.window_start,
            )
        emit(
            session,
            "visit.completed",
            {
                "visit_id": str(visit.id),
                "household_id": str(visit.household_id) if visit.household_id else None,
                "facility_id": str(visit.facility_id) if visit.facility_id else None,
                "purpose": visit.purpose.value,
                "campaign_id": str(visit.campaign_id) if visit.campaign_id else None,
                "completed_at": rfc3339(now),
                "household_status": advanced.value if advanced else None,
            },
            household_id=visit.household_id,
            district_code=visit.dong_code[:5],
        )
    await audit.record(
        session,
        principal,
        "visit.transition",
        entity="visit",
        entity_id=visit.id,
        household_id=visit.household_id,
        details={
            "from": current.value,
            "to": to.value,
            **({"household_status": advanced.value} if advanced else {}),
            **({"device_skew_ms": int((device_at - now).total_seconds() * 1000)} if device_at else {}),
        },
    )
    return visit


# --- lists -------------------------------------------------------------------------------------------------------


def parse_bound(value: str | None, *, field: str, end: bool, tz: Any) -> datetime | None:
    """``today`` or a date (the whole day in the service's time zone), or an RFC 3339 date-time."""
    if value is None:
        return None
    text = value.strip()
    try:
        if text == "today" or len(text) == 10:
            day = datetime.now(tz).date() if text == "today" else date.fromisoformat(text)
            if end:
                day = day + timedelta(days=1)
            return datetime.combine(day, time.min, tzinfo=tz)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(text)
        return parsed
    except (ValueError, OverflowError) as exc:  # OverflowError: the day after 9999-12-31
        raise field_problem(field, "visits.bad-range") from exc
