"""Cases on the phone (``docs/sync.md``): the open cases a worker is on or manages, the frame of the notes on
them. The phone keeps its own shape of a case (``CaseChange`` of the sync document, with the team and the next
stage's clock), not REST's ``CasePublic``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case
from app.cases.repository import CaseRepository
from app.cases.service import case_deadline_fields
from app.core.times import rfc3339


async def _case_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    repo = CaseRepository(session)
    rows = await repo.rows(repo.on_phone_of(ctx.principal.user_id))
    out = {}
    for cid, version, hid in rows:
        if ctx.is_partner and not ctx.household_open(hid):
            continue
        out[cid] = Item(version, hid)
        ctx.case_ids.add(cid)
    return out


async def framed_households(session: AsyncSession, ctx: Any) -> set[uuid.UUID]:
    """The households of the cases the device holds (``ctx.case_ids``): the household entity's scope asks every
    domain's sync module for the households its frames hang on (``app.households.sync``)."""
    if not ctx.case_ids:
        return set()
    rows = await session.execute(select(Case.household_id).where(Case.id.in_(list(ctx.case_ids))))
    return {hid for (hid,) in rows}


async def _case_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    repo = CaseRepository(session)
    cases = await repo.by_ids(ids)
    teams = await repo.active_teams(ids)
    return {
        c.id: {
            "id": str(c.id),
            "version": c.version,
            "household_id": str(c.household_id),
            "dong_code": c.dong_code,
            "manager_id": str(c.manager_id),
            "team": teams.get(c.id, []),
            "stage": c.stage.value,
            "stage_started_at": rfc3339(c.stage_started_at),
            "opened_at": rfc3339(c.opened_at),
            "goals": c.goals,
            **{k: rfc3339(v) if k == "due_at" else v for k, v in case_deadline_fields(c).items()},
            "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at),
        }
        for c in cases
    }


async def _case_concerns(session: AsyncSession, principal: Any, rows: list[Any]) -> bool:
    """Whether changes that may move a scope concern this caller through their cases: they are (or were) on
    the case's team, manage it, or are on a case of the household."""
    ids = [r[1] for r in rows]
    cases = [r[4] for r in rows if r[4] is not None]
    homes = [r[2] for r in rows if r[2] is not None]
    return await CaseRepository(session).concerns(principal.user_id, ids, cases, homes)


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [SyncEntity("case", _case_scope, _case_load, Case, frames=True, concerns=_case_concerns)]
