"""Planning a pull (read only): a first sync's walk, a content pull from the change log, or a diff of the scope
when the scope itself may have moved; and loading the page through each entity's view.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import dialect_of
from app.core.principal import Principal
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.cursor import Cursor
from app.sync.holdings import Held, base_sum, chunks, last_seqs, read_holdings, read_spans, tombstoned
from app.sync.models import DeviceSyncState
from app.sync.scope import Context, Item, Key, Walk, adapters, context_for
from app.sync.sift import content_kinds, related_keys


@dataclass
class Plan:
    """What a pull sends and records, decided in the read transaction."""

    kind: str  # walk (a first sync's snapshot) | content (changes within the scope) | diff (the scope moved)
    ctx: Context
    scope: dict[Key, Item]  # the records of the page still (or newly) in scope, with their versions
    holdings: dict[Key, Held]  # the device's holdings of the records compared
    page: list[Key]  # in the order sent
    upserts: set[Key]
    deleted: set[Key]
    has_more: bool
    base: int  # the checksum sum of what the device holds before this page
    seq: int  # the change number the device is up to once the pull is complete
    day: str
    walk: str = ""  # where a walk's next page starts


def differs(item: Item, held: Held | None) -> bool:
    return held is None or held.held_version != item.version or held.held_view != item.view or held.revoked


async def plan_walk(
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    cursor: Cursor | None,
    st: DeviceSyncState | None,
    seq: int,
    now: datetime,
    today: date,
    limit: int,
) -> Plan:
    """A page of a first sync: the next ``limit`` records of the scope in (entity order, id) order, each
    entity read by keyset from where the cursor stands, so that a page costs its own size (the entities
    that draw the scope are read whole: they are the device's own visits, cases and households). The walk
    keeps the change number and day it started at: what changed meanwhile follows in the next pulls."""
    at = cursor.walk_at() if cursor is not None else None
    index, after = at if at is not None else (0, None)
    ctx = await context_for(session, principal, now, today)
    registry = adapters()
    frames = content_kinds()[2]
    framed = {a.entity: await a.scope(session, ctx) for a in registry if a.entity in frames}
    scope: dict[Key, Item] = {}
    walked: list[Key] = []
    spans: list[tuple[str, uuid.UUID | None, uuid.UUID]] = []  # each entity's part of the page: (after, last]
    while index < len(registry) and len(walked) < limit:
        adapter, remaining = registry[index], limit - len(walked)
        if adapter.entity in framed:
            items, walk = framed[adapter.entity], None
        else:
            ctx.walk = Walk(adapter.entity, after, remaining)
            items = await adapter.scope(session, ctx)
            walk, ctx.walk = ctx.walk, None
        if walk is not None and walk.paged:
            chosen, done, last = sorted(items), not walk.full, walk.last
        else:  # read whole: sliced here
            ids = sorted(eid for eid in items if after is None or eid > after)
            chosen, done = ids[:remaining], len(ids) <= remaining
            last = chosen[-1] if chosen else after
        for eid in chosen:
            scope[(adapter.entity, eid)] = items[eid]
            walked.append((adapter.entity, eid))
        if chosen:
            spans.append((adapter.entity, after, chosen[-1]))
        if done:
            index, after = index + 1, None
        else:
            after = last
    has_more = index < len(registry)
    holdings: dict[Key, Held] = {}
    if cursor is not None and walked:  # read by the keyset spans walked, an index range whatever the statistics
        page_keys = set(walked)
        spanned = await read_spans(session, device_id, cursor.batch, spans)
        holdings = {key: held for key, held in spanned.items() if key in page_keys}
    return Plan(
        kind="walk",
        ctx=ctx,
        scope=scope,
        holdings=holdings,
        page=walked,
        upserts={key for key in walked if differs(scope[key], holdings.get(key))},
        deleted=set(),
        has_more=has_more,
        base=await base_sum(session, device_id, st, cursor.batch) if cursor is not None else 0,
        seq=cursor.seq if cursor is not None else seq,
        day=cursor.day if cursor is not None else today.isoformat(),
        walk=(f"{index}-{after.hex}" if after is not None else str(index)) if has_more else "",
    )


async def plan_content(
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    cursor: Cursor,
    st: DeviceSyncState,
    seq: int,
    changes: list[Any],
    now: datetime,
    today: date,
    limit: int,
    *,
    more_in_log: bool,
) -> Plan | None:
    """A pull after changes of records inside the scope only (entities declared ``content``; the device up to date
    otherwise): read the device's holdings of the changed records and of the visits, cases and households
    they belong to (indexed lookups), keep the changes those concern, and look at just those records.
    ``changes`` are those numbered up to ``seq`` (all of them, or a slice: :func:`app.sync.sift.changes_since`;
    ``more_in_log``: the log goes on after the slice, so the device is told there is more either way).
    ``None`` when no change concerns the device."""
    keys: set[Key] = set()
    homes: set[uuid.UUID] = set()
    for entity, eid, household_id, visit_id, case_id, _seq in changes:
        keys |= {(entity, eid), *related_keys(household_id, visit_id, case_id)}
        if household_id is not None:
            homes.add(household_id)
    members = await read_holdings(session, device_id, cursor.batch, keys, homes)
    # the households of the visits and cases found (a note on a case names no household)
    more = {
        ("household", h.household_id)
        for (entity, _), h in members.items()
        if entity in ("visit", "case") and h.household_id is not None
    } - members.keys()
    if more:
        members.update(await read_holdings(session, device_id, cursor.batch, more))

    def holds(entity: str, eid: uuid.UUID | None) -> bool:
        h = members.get((entity, eid)) if eid is not None else None
        return h is not None and h.holds

    relevant = [
        row
        for row in changes
        if (row[0], row[1]) in members or holds("visit", row[3]) or holds("case", row[4]) or holds("household", row[2])
    ]
    if not relevant:
        return None
    wanted = {(row[0], row[1]) for row in relevant}
    held = {key: h for key, h in members.items() if h.holds}
    ctx = Context(principal=principal, now=now, today=today, dialect=dialect_of(session))
    ctx.visit_ids = {eid for (entity, eid) in held if entity == "visit"}
    ctx.case_ids = {eid for (entity, eid) in held if entity == "case"}
    ctx.household_ids = {eid for (entity, eid) in held if entity == "household"}
    ctx.visit_household = {eid: h.household_id for (entity, eid), h in held.items() if entity == "visit"}
    ctx.visible_households = set(ctx.household_ids)
    ctx.only = defaultdict(set)
    for entity, eid in wanted:
        ctx.only[entity].add(eid)
    ctx.only = dict(ctx.only)
    scope: dict[Key, Item] = {}
    models: dict[str, Any] = {}
    for adapter in adapters():
        models[adapter.entity] = adapter.model
        if adapter.entity in ctx.only:
            scope.update(((adapter.entity, eid), item) for eid, item in (await adapter.scope(session, ctx)).items())
    holdings = {key: members[key] for key in wanted if key in members}
    upserts = [key for key, item in scope.items() if key in wanted and differs(item, holdings.get(key))]
    gone = [key for key, h in holdings.items() if key not in scope and h.holds]
    order: dict[Key, int] = {}
    for row in relevant:
        order[(row[0], row[1])] = max(order.get((row[0], row[1]), 0), row[5])
    pending = sorted(upserts + gone, key=lambda k: order[k])
    page = pending[:limit]
    # More than a page: it ends at the last change of its last record. Each record is placed by its last change
    # (one number per change), so every record changed up to there is in the page, and every record left out
    # changed after it: the next pull takes the change log from there.
    cut = len(pending) > limit
    end = order[page[-1]] if cut else seq
    return Plan(
        kind="content",
        ctx=ctx,
        scope=scope,
        holdings=holdings,
        page=page,
        upserts=set(upserts),
        deleted=await tombstoned(session, [key for key in gone if order[key] <= end], models),
        has_more=cut or more_in_log,
        base=await base_sum(session, device_id, st, cursor.batch),
        seq=end,
        day=today.isoformat(),
    )


async def plan_diff(
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    cursor: Cursor,
    st: DeviceSyncState | None,
    seq: int,
    now: datetime,
    today: date,
    limit: int,
) -> Plan:
    """A pull when the scope itself may have moved (a team, case, consent, visit window or day changed, or
    the lease is due): the whole scope against the device's holdings, sent in commit order."""
    holdings = await read_holdings(session, device_id, cursor.batch)
    ctx = await context_for(session, principal, now, today)
    registry = adapters()
    scope: dict[Key, Item] = {}
    for adapter in registry:
        scope.update(((adapter.entity, eid), item) for eid, item in (await adapter.scope(session, ctx)).items())
    upserts = [key for key, item in scope.items() if differs(item, holdings.get(key))]
    gone = [key for key, h in holdings.items() if key not in scope and h.holds]
    pending = upserts + gone
    order = await last_seqs(session, pending)
    pending.sort(key=lambda k: (order.get(k, 0), k[0], str(k[1])))
    return Plan(
        kind="diff",
        ctx=ctx,
        scope=scope,
        holdings=holdings,
        page=pending[:limit],
        upserts=set(upserts),
        deleted=await tombstoned(session, gone, {a.entity: a.model for a in registry}),
        has_more=len(pending) > limit,
        base=await base_sum(session, device_id, st, cursor.batch),
        seq=seq,
        day=today.isoformat(),
    )


async def load(session: AsyncSession, plan: Plan) -> dict[Key, dict[str, Any]]:
    """The data of every upsert of the page, each entity through its own view (the one REST answers)."""
    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    for entity, eid in plan.page:
        if (entity, eid) in plan.upserts:
            by_entity[entity].append(eid)
    loaded: dict[Key, dict[str, Any]] = {}
    for adapter in adapters():
        for chunk in chunks(by_entity.get(adapter.entity, [])):
            for eid, data in (await adapter.load(session, plan.ctx, chunk)).items():
                loaded[(adapter.entity, eid)] = data
    return loaded
