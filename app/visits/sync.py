"""Facilities on the phone, and what a completed facility inspection does (docs/data-model.md).

* ``facility``: the facilities that the visits on the device target, so that an inspector can do a winter
  safety inspection with no signal. ``data`` is REST's ``FacilityPublic`` (name, address, ``kind`` — the type —,
  capacity, and the last inspection: when, which visit, whether it was urgent). Facilities are institutions,
  not personal data: a partner's device holds them like a planner's.
* What a completed facility inspection does (the facility's last inspection, an urgent finding's follow-up
  task) is :func:`app.winter.inspections.record_inspection`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.visits.models import Facility, Visit, VisitAssignee


async def _facility_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    if not ctx.visit_ids:
        return {}
    wanted: set[uuid.UUID] = set()
    ids = list(ctx.visit_ids)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(Visit.facility_id).where(Visit.id.in_(ids[start : start + 500]), Visit.facility_id.is_not(None))
        )
        wanted |= {fid for (fid,) in rows}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Facility.id, Facility.version).where(Facility.id.in_(list(wanted)), ctx.narrow("facility", Facility.id))
    )
    return {fid: Item(version) for fid, version in rows}


def facility_record(facility: Facility) -> dict[str, Any]:
    from app.visits.schemas import FacilityPublic

    return FacilityPublic.model_validate(facility).model_dump(mode="json")


async def _facility_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = (await session.execute(select(Facility).where(Facility.id.in_(ids)))).scalars()
    return {f.id: facility_record(f) for f in rows}


def sync_adapters() -> list[Any]:
    from app.sync.scope import Adapter

    return [Adapter("facility", _facility_scope, _facility_load, Facility, after=("visit",))]


# --- visits on the phone -----------------------------------------------------------------------------------------
# ``visit``: the device's own open assignments in a window around today (docs/sync.md), the frame of its scope:
# a partner whom no consent covers gets the restricted view. ``transition``: a phone moves a visit through the
# state machine (``PHONE_VISIT_TARGETS``; cancelling and rescheduling are REST's).

#: How far around today a worker's visits stay on the phone.
WINDOW_BEFORE = timedelta(days=7)
WINDOW_AFTER = timedelta(days=14)
#: The statuses a phone may move a visit to (docs/sync.md).
PHONE_VISIT_TARGETS = ("in_progress", "completed", "no_contact", "refused")


async def _visit_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    rows = await session.execute(
        select(Visit.id, Visit.version, Visit.household_id)
        .join(VisitAssignee, VisitAssignee.visit_id == Visit.id)
        .where(
            VisitAssignee.user_id == ctx.principal.user_id,
            VisitAssignee.ended_at.is_(None),
            Visit.deleted_at.is_(None),
            Visit.window_end >= ctx.now - WINDOW_BEFORE,
            Visit.window_start <= ctx.now + WINDOW_AFTER,
        )
    )
    out = {}
    for vid, version, hid in rows:
        visible = ctx.household_open(hid)
        out[vid] = Item(version, hid if visible else None, None if visible or hid is None else "redacted")
        ctx.visit_ids.add(vid)
        ctx.visit_household[vid] = hid
    return out


async def _visit_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The view REST answers the same caller (:func:`app.visits.views.visit_views`): for a partner whom
    no consent covers, the restricted one (no household, outcome, checklist pins or check-in/out times)."""
    from app.visits.views import visit_views

    visits = list((await session.execute(select(Visit).where(Visit.id.in_(ids)))).scalars())

    def household_open(visit: Visit) -> bool:
        return visit.household_id is None or ctx.household_open(visit.household_id)

    views = await visit_views(session, ctx.principal, visits, household_open=household_open)
    return {view.id: view.model_dump(mode="json") for view in views}


async def _visit_transition(ctx: Any) -> Any:
    from app.access.policy import get_visit_or_404, is_visit_team_member
    from app.core.errors import Problem
    from app.sync.push import Outcome, only_fields, reject
    from app.visits import service
    from app.visits.models import VisitStatus

    only_fields(ctx.data, ("to", "outcome", "location"))

    if ctx.data.get("to") not in PHONE_VISIT_TARGETS:
        raise reject("sync.invalid-data", reason="to")
    target = VisitStatus(ctx.data["to"])
    try:
        visit = await get_visit_or_404(ctx.session, ctx.principal, ctx.id)
    except Problem as exc:
        raise reject("sync.not-found", 404) from exc
    if not await is_visit_team_member(ctx.session, ctx.principal, visit.id):
        raise reject("sync.not-found", 404)
    outcome = ctx.data.get("outcome")
    location = ctx.data.get("location")
    if outcome is not None and not isinstance(outcome, str):
        raise reject("sync.invalid-data", reason="outcome")
    if location is not None and not isinstance(location, dict):
        raise reject("sync.invalid-data", reason="location")
    visit = await service.transition_visit(
        ctx.session, ctx.principal, visit, target, outcome=outcome, device_at=ctx.at, location=location
    )
    return Outcome("applied", visit.version, household_id=visit.household_id)


async def _visit_concerns(session: AsyncSession, principal: Any, rows: list[Any]) -> bool:
    """Whether changes that may move a scope (a visit, a team, a consent…) concern this caller through their
    visits: they are (or were) on the visit's team, or have a visit at the household."""
    me = principal.user_id
    ids = [r[1] for r in rows]
    visits = [r[3] for r in rows if r[3] is not None]
    homes = [r[2] for r in rows if r[2] is not None]
    probes = [
        select(VisitAssignee.id).where(
            VisitAssignee.user_id == me, or_(VisitAssignee.id.in_(ids), VisitAssignee.visit_id.in_(visits))
        ),
        select(Visit.id)
        .join(VisitAssignee, VisitAssignee.visit_id == Visit.id)
        .where(VisitAssignee.user_id == me, Visit.household_id.in_(homes)),
    ]
    for probe in probes:
        if (await session.execute(probe.limit(1))).first() is not None:
            return True
    return False


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [
        SyncEntity(
            "visit",
            _visit_scope,
            _visit_load,
            Visit,
            frames=True,
            concerns=_visit_concerns,
            handlers={"transition": _visit_transition},
        )
    ]
