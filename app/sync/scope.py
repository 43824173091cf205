"""What a phone may hold (DESIGN §4.3), entity by entity, and how each record looks on the phone.

A planner's or partner's phone holds the records of their open assignments: visits in a window around
today, their open cases, the households of those (redacted; a partner's only with consent), the
checklist responses, notes and photo metadata of those, supports of those households, and reference
data (published checklist templates, active resources).

Each entity is an :class:`Adapter`: ``scope`` lists the live records in scope with their versions,
``tombstoned`` tells which of some ids were deleted, ``load`` serializes records for the phone. Entities
whose module is not installed are skipped, so the registry grows with the domains.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import PartnerReach, partner_reach
from app.auth.models import Role, User
from app.auth.principal import Principal
from app.care.models import Case, CaseMember
from app.core.times import rfc3339
from app.households.models import Household
from app.visits.models import Visit, VisitAssignee

Key = tuple[str, uuid.UUID]

#: How far around today a worker's visits stay on the phone.
WINDOW_BEFORE = timedelta(days=7)
WINDOW_AFTER = timedelta(days=14)


@dataclass
class Item:
    version: int
    household_id: uuid.UUID | None = None
    #: The redaction the record is shown in; a change of view is sent again at the same version.
    view: str | None = None


@dataclass
class Walk:
    """One step of a first sync's keyset walk over one entity (filled in by :meth:`Context.rows`)."""

    entity: str
    after: uuid.UUID | None
    size: int
    paged: bool = False  # the adapter's query was paged by the walk
    full: bool = False  # it returned ``size`` rows: there may be more
    last: uuid.UUID | None = None  # the last id it read (before any filtering in Python)


@dataclass
class Context:
    principal: Principal
    now: datetime
    today: date
    reach: PartnerReach | None = None
    #: Filled as adapters run, in registry order: later adapters scope by earlier ones.
    visit_ids: set[uuid.UUID] = field(default_factory=set)
    household_ids: set[uuid.UUID] = field(default_factory=set)
    case_ids: set[uuid.UUID] = field(default_factory=set)
    visit_household: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    #: Set when the scope is taken from what the device holds: the households it may see identified.
    visible_households: set[uuid.UUID] | None = None
    #: Set for a partial diff: the only records of each entity to look at.
    only: dict[str, set[uuid.UUID]] | None = None
    #: Set in a first sync's walk: the next page of one entity, by keyset over its id.
    walk: Walk | None = None

    def narrow(self, entity: str, column: Any) -> Any:
        """A filter on ``column`` (the entity's id) keeping the records this diff looks at."""
        if self.only is None:
            return true()
        return column.in_(list(self.only.get(entity, ())))

    async def rows(self, session: AsyncSession, entity: str, stmt: Any, column: Any) -> list[Any]:
        """Run an adapter's scope query ``stmt`` narrowed to the records this pull looks at: with ``only``,
        those ids; in a walk of ``entity``, the next ``walk.size`` ids after ``walk.after`` in id order (so a
        page of a first sync costs its own size). An adapter that reads its scope through this lets the walk
        page it in the database; one that does not is sliced after reading its whole scope."""
        if self.only is not None:
            stmt = stmt.where(column.in_(list(self.only.get(entity, ()))))
        walk = self.walk
        if walk is None or walk.entity != entity:
            return list(await session.execute(stmt))
        if walk.after is not None:
            stmt = stmt.where(column > walk.after)
        found = list(await session.execute(stmt.order_by(column).limit(walk.size)))
        walk.paged, walk.full = True, len(found) == walk.size
        walk.last = found[-1][0] if found else None
        return found

    @property
    def is_partner(self) -> bool:
        return self.principal.role == Role.partner

    def household_open(self, household_id: uuid.UUID | None) -> bool:
        """May this device see the household's identifying data?"""
        if household_id is None:
            return False
        if self.visible_households is not None:
            return household_id in self.visible_households
        if self.reach is None:
            return True
        return self.reach.household_visible(household_id)


def iso(value: datetime | date | None) -> str | None:
    return rfc3339(value)


# --- adapters ------------------------------------------------------------------------------------------------


@dataclass
class Adapter:
    entity: str
    scope: Callable[[AsyncSession, Context], Awaitable[dict[uuid.UUID, Item]]]
    load: Callable[[AsyncSession, Context, list[uuid.UUID]], Awaitable[dict[uuid.UUID, dict[str, Any]]]]
    model: Any


async def _visit_scope(session: AsyncSession, ctx: Context) -> dict[uuid.UUID, Item]:
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


async def _visit_load(session: AsyncSession, ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The view REST answers the same caller (:func:`app.visits.service.visit_views`): for a partner whom
    no consent covers, the restricted one (no household, outcome, checklist pins or check-in/out times)."""
    from app.visits.service import visit_views

    visits = list((await session.execute(select(Visit).where(Visit.id.in_(ids)))).scalars())

    def household_open(visit: Visit) -> bool:
        return visit.household_id is None or ctx.household_open(visit.household_id)

    views = await visit_views(session, ctx.principal, visits, household_open=household_open)
    return {view.id: view.model_dump(mode="json") for view in views}


async def _case_scope(session: AsyncSession, ctx: Context) -> dict[uuid.UUID, Item]:
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


async def _case_load(session: AsyncSession, ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
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
            "stage_started_at": iso(c.stage_started_at),
            "opened_at": iso(c.opened_at),
            "goals": c.goals,
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
        }
        for c in cases
    }


async def _household_scope(session: AsyncSession, ctx: Context) -> dict[uuid.UUID, Item]:
    wanted = {hid for hid in ctx.visit_household.values() if hid is not None}
    wanted |= (
        {hid for (hid,) in await session.execute(select(Case.household_id).where(Case.id.in_(list(ctx.case_ids))))}
        if ctx.case_ids
        else set()
    )
    wanted = {hid for hid in wanted if ctx.household_open(hid)}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Household.id, Household.version).where(
            Household.id.in_(list(wanted)),
            Household.deleted_at.is_(None),
            Household.destroyed_at.is_(None),  # destroyed past retention: revoked on every phone (app.lifecycle)
            ctx.narrow("household", Household.id),
        )
    )
    out = {}
    for hid, version in rows:
        out[hid] = Item(version, hid)
        ctx.household_ids.add(hid)
    return out


async def _household_load(session: AsyncSession, ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The same redacted view REST answers (:func:`app.households.service.household_views`): never
    registration numbers or other sensitive fields on a phone, and a partner sees only the consents that
    cover them."""
    from app.households.service import household_views

    households = list((await session.execute(select(Household).where(Household.id.in_(ids)))).scalars())
    views = await household_views(session, ctx.principal, households)
    return {view.id: view.model_dump(mode="json", exclude={"sensitive"}) for view in views}


def _core_adapters() -> list[Adapter]:
    return [
        Adapter("visit", _visit_scope, _visit_load, Visit),
        Adapter("case", _case_scope, _case_load, Case),
        Adapter("household", _household_scope, _household_load, Household),
    ]


@functools.cache
def adapters() -> tuple[Adapter, ...]:
    """The core adapters, then those of every domain whose ``sync`` module has ``sync_adapters()``."""
    from app import registry

    extra = [a for m in registry.extensions("sync") if hasattr(m, "sync_adapters") for a in m.sync_adapters()]
    return (*_core_adapters(), *extra)


async def context_for(session: AsyncSession, principal: Principal, now: datetime, today: date) -> Context:
    reach = await partner_reach(session, principal, now) if principal.role == Role.partner else None
    return Context(principal=principal, now=now, today=today, reach=reach)


async def user_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(list(ids))))).all())
