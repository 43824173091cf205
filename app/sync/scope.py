"""What a phone may hold (``docs/sync.md``), entity by entity, and how each record looks on the phone.

A planner's or partner's phone holds the records of their open assignments: visits in a window around
today, their open cases, the households of those (redacted; a partner's only with consent), the
checklist responses, notes and photo metadata of those, supports of those households, and reference
data (published checklist templates, active resources).

Each entity is a :class:`SyncEntity`, declared in its own domain's ``sync.py``: this module (the engine's
vocabulary) imports no domain model. ``scope`` lists the live records in scope with their versions, ``load``
renders records for the phone; the declaration states what the entity's scope depends on.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access import sync as access
from app.access.policy import PartnerReach
from app.auth.models import User
from app.core.db import among, core_rows, dialect_of
from app.core.principal import Principal
from app.core.times import rfc3339

Key = tuple[str, uuid.UUID]


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
    #: The session's dialect (:func:`app.core.db.among` writes a list of ids for it).
    dialect: str = "sqlite"

    def among(self, column: Any, ids: Any) -> Any:
        """``column`` among ``ids`` (:func:`app.core.db.among`: one array parameter on PostgreSQL)."""
        return among(self.dialect, column, list(ids))

    def narrow(self, entity: str, column: Any) -> Any:
        """A filter on ``column`` (the entity's id) keeping the records this diff looks at."""
        if self.only is None:
            return true()
        return self.among(column, self.only.get(entity, ()))

    async def rows(self, session: AsyncSession, entity: str, stmt: Any, column: Any) -> list[Any]:
        """Run an adapter's scope query ``stmt`` narrowed to the records this pull looks at: with ``only``,
        those ids; in a walk of ``entity``, the next ``walk.size`` ids after ``walk.after`` in id order (so a
        page of a first sync costs its own size). An adapter that reads its scope through this lets the walk
        page it in the database; one that does not is sliced after reading its whole scope."""
        if self.only is not None:
            stmt = stmt.where(self.among(column, self.only.get(entity, ())))
        walk = self.walk
        if walk is None or walk.entity != entity:
            return list(await core_rows(session, stmt))
        if walk.after is not None:
            stmt = stmt.where(column > walk.after)
        found = list(await core_rows(session, stmt.order_by(column).limit(walk.size)))
        walk.paged, walk.full = True, len(found) == walk.size
        walk.last = found[-1][0] if found else None
        return found

    @property
    def is_partner(self) -> bool:
        """Whether this phone holds households only by assignment and consent (a partner's)."""
        return access.holds_by_consent(self.principal)

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


# --- declarations ----------------------------------------------------------------------------------------------

Scope = Callable[[AsyncSession, Context], Awaitable[dict[uuid.UUID, Item]]]
Loader = Callable[[AsyncSession, Context, list[uuid.UUID]], Awaitable[dict[uuid.UUID, dict[str, Any]]]]
#: Whether some change notes of this entity (``ChangeLog`` rows) can concern the principal's device.
Concerns = Callable[[AsyncSession, Principal, list[Any]], Awaitable[bool]]
#: When the scope next changes with no write (e.g. a consent running out), or ``None``.
Rescope = Callable[[AsyncSession, Context, datetime], Awaitable[datetime | None]]


@dataclass(frozen=True)
class SyncEntity:
    """One synced entity, declared once in its domain's ``sync.py`` (``sync_entities()``).

    * ``scope``: the live records the device may hold, with versions (and whose household, and the view);
      read through :meth:`Context.rows` so that a first sync's walk pages it in the database.
    * ``load``: the records' data for the phone, through the same view as REST.
    * ``after``: the entities whose scope this one's is drawn from: they run before it (the engine orders
      the declarations by these, never by name).
    * ``frames``: it draws others' scope (the device's visits, cases, households).
    * ``content``: its changes never move a scope (only what is inside it changes), and its change notes
      name (``household_id`` / ``visit_id`` / ``case_id``) the frame records its scope is drawn from: a pull
      after such changes looks at just those records, with a scope context made of the device's holdings of
      what the notes name. Leave it ``False`` when a change can bring a record to a device that holds none of
      its relations (a new task for someone), or when its scope hangs on records its notes do not name (a
      facility, drawn by the visits that target it).
    * ``shared``: reference data: a change concerns every device.
    * ``concerns``: for changes of this entity (or of an entity it names in ``signals``: rows that draw its
      scope without being synced, such as team memberships), whether they can concern a device that holds
      none of the records they name.
    * ``handlers`` / ``prefetch``: push handlers and their prefetchers by op.
    * ``rescope``: when the scope changes next with no write.
    """

    name: str
    scope: Scope
    load: Loader
    model: Any
    after: tuple[str, ...] = ()
    frames: bool = False
    content: bool = False
    shared: bool = False
    concerns: Concerns | None = None
    signals: tuple[str, ...] = ()
    handlers: Mapping[str, Any] = field(default_factory=dict)
    prefetch: Mapping[str, Any] = field(default_factory=dict)
    rescope: Rescope | None = None

    @property
    def entity(self) -> str:
        return self.name


def Adapter(entity: str, scope: Scope, load: Loader, model: Any, **kw: Any) -> SyncEntity:
    """The former four-field declaration (``sync_adapters()``): a :class:`SyncEntity` with the defaults."""
    return SyncEntity(entity, scope, load, model, **kw)


def ordered(declared: list[SyncEntity]) -> tuple[SyncEntity, ...]:
    """The declarations in dependency order (each after the entities it names in ``after``), otherwise in
    the order they were declared. A dependency on an entity nobody declares is ignored (a domain left out)."""
    by_name = {e.name: e for e in declared}
    if len(by_name) != len(declared):
        raise ValueError(f"a sync entity is declared twice: {sorted(e.name for e in declared)}")
    out: list[SyncEntity] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(entity: SyncEntity) -> None:
        if entity.name in placed:
            return
        if entity.name in visiting:
            raise ValueError(f"sync entities depend on each other in a circle: {entity.name}")
        visiting.add(entity.name)
        for name in entity.after:
            if name in by_name:
                place(by_name[name])
        visiting.discard(entity.name)
        placed.add(entity.name)
        out.append(entity)

    for entity in declared:
        place(entity)
    return tuple(out)


@functools.cache
def adapters() -> tuple[SyncEntity, ...]:
    """Every domain's declarations (``sync_entities()``, or the former ``sync_adapters()``), ordered."""
    from app import registry

    declared: list[SyncEntity] = []
    for module in registry.extensions("sync"):
        for hook in ("sync_entities", "sync_adapters"):
            if hasattr(module, hook):
                declared += getattr(module, hook)()
    return ordered(declared)


async def context_for(session: AsyncSession, principal: Principal, now: datetime, today: date) -> Context:
    reach = await access.device_reach(session, principal, now)
    return Context(principal=principal, now=now, today=today, reach=reach, dialect=dialect_of(session))


async def user_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(
        (await session.execute(select(col(User.id), col(User.display_name)).where(col(User.id).in_(list(ids))))).all()
    )
