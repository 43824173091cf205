"""Resources and supports on the phone (DESIGN §4.3): joined into sync by ``app.sync.scope``.

* ``resource``: reference data — the active catalog entries of the districts the worker works in.
* ``support``: the supports of the households the device holds (so of consented households only, for a
  partner), tombstones sent as ``delete``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.care.models import Case, CaseMember, Resource, Support
from app.core.times import rfc3339


def _iso(value: Any) -> str | None:
    return rfc3339(value)


def _districts(ctx: Any) -> list[str]:
    return sorted({code[:5] for code in ctx.principal.jurisdiction})


async def _resource_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    districts = _districts(ctx)
    if not districts:
        return {}
    rows = await session.execute(
        select(Resource.id, Resource.version).where(
            Resource.district_code.in_(districts), Resource.active.is_(True), Resource.deleted_at.is_(None)
        )
    )
    return {rid: Item(version) for rid, version in rows}


async def _resource_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    from app.care.resources import provider_names

    rows = list((await session.execute(select(Resource).where(Resource.id.in_(ids)))).scalars())
    # the REST view's fields, all of them (the document's ResourceChange.data is ResourcePublic)
    names = await provider_names(session, {r.provider_organization_id for r in rows})
    return {
        r.id: {
            "id": str(r.id),
            "version": r.version,
            "name": r.name,
            "kind": r.kind.value,
            "category": r.category,
            "description": r.description,
            "provider_organization_id": str(r.provider_organization_id),
            "provider_name": names.get(r.provider_organization_id),
            "district_code": r.district_code,
            "eligibility": r.eligibility,
            "capacity": r.capacity,
            "remaining": r.remaining,
            "unit": r.unit,
            "default_amount": r.default_amount,
            "contact": r.contact,
            "active": r.active,
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at),
        }
        for r in rows
    }


async def _support_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    if not ctx.household_ids:
        return {}
    rows = await ctx.rows(
        session,
        "support",
        select(Support.id, Support.version, Support.household_id).where(
            Support.household_id.in_(list(ctx.household_ids)), Support.deleted_at.is_(None)
        ),
        Support.id,
    )
    return {sid: Item(version, hid) for sid, version, hid in rows}


async def _support_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = (await session.execute(select(Support).where(Support.id.in_(ids)))).scalars()
    return {
        s.id: {
            "id": str(s.id),
            "version": s.version,
            "household_id": str(s.household_id),
            "resource_id": str(s.resource_id),
            "case_id": str(s.case_id) if s.case_id else None,
            "visit_id": str(s.visit_id) if s.visit_id else None,
            "status": s.status.value,
            "amount": s.amount,
            "period_start": _iso(s.period_start),
            "period_end": _iso(s.period_end),
            "provider_organization_id": str(s.provider_organization_id),
            "reason": s.reason,
            "status_changed_at": _iso(s.status_changed_at),
            "created_at": _iso(s.created_at),
            "updated_at": _iso(s.updated_at),
        }
        for s in rows
    }


# --- cases: the open cases a worker is on or manages, the frame of the notes on them ------------------------------


async def _case_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    mine = select(CaseMember.case_id).where(CaseMember.user_id == ctx.principal.user_id, CaseMember.ended_at.is_(None))
    rows = await session.execute(
        select(Case.id, Case.version, Case.household_id).where(
            Case.deleted_at.is_(None),
            Case.closed_at.is_(None),
            or_(Case.id.in_(mine), Case.manager_id == ctx.principal.user_id),
        )
    )
    out = {}
    for cid, version, hid in rows:
        if ctx.is_partner and not ctx.household_open(hid):
            continue
        out[cid] = Item(version, hid)
        ctx.case_ids.add(cid)
    return out


async def _case_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    from app.winter.deadlines import case_deadline_fields

    cases = (await session.execute(select(Case).where(Case.id.in_(ids)))).scalars().all()
    teams: dict[uuid.UUID, list[str]] = {}
    for cid, uid in await session.execute(
        select(CaseMember.case_id, CaseMember.user_id).where(CaseMember.case_id.in_(ids), CaseMember.ended_at.is_(None))
    ):
        teams.setdefault(cid, []).append(str(uid))
    return {
        c.id: {
            "id": str(c.id),
            "version": c.version,
            "household_id": str(c.household_id),
            "dong_code": c.dong_code,
            "manager_id": str(c.manager_id),
            "team": teams.get(c.id, []),
            "stage": c.stage.value,
            "stage_started_at": _iso(c.stage_started_at),
            "opened_at": _iso(c.opened_at),
            "goals": c.goals,
            **{k: _iso(v) if k == "due_at" else v for k, v in case_deadline_fields(c).items()},  # app.winter
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at),
        }
        for c in cases
    }


async def _case_concerns(session: AsyncSession, principal: Any, rows: list[Any]) -> bool:
    """Whether changes that may move a scope concern this caller through their cases: they are (or were) on
    the case's team, manage it, or are on a case of the household."""
    me = principal.user_id
    ids = [r[1] for r in rows]
    cases = [r[4] for r in rows if r[4] is not None]
    homes = [r[2] for r in rows if r[2] is not None]
    probes = [
        select(CaseMember.id).where(
            CaseMember.user_id == me, or_(CaseMember.id.in_(ids), CaseMember.case_id.in_(cases))
        ),
        select(Case.id).where(Case.manager_id == me, or_(Case.id.in_(cases), Case.household_id.in_(homes))),
        select(Case.id)
        .join(CaseMember, CaseMember.case_id == Case.id)
        .where(CaseMember.user_id == me, Case.household_id.in_(homes)),
    ]
    for probe in probes:
        if (await session.execute(probe.limit(1))).first() is not None:
            return True
    return False


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [
        SyncEntity("case", _case_scope, _case_load, Case, frames=True, concerns=_case_concerns),
        SyncEntity("resource", _resource_scope, _resource_load, Resource, shared=True),
        SyncEntity("support", _support_scope, _support_load, Support, after=("household",), content=True),
    ]
