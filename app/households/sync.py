"""Households on the phone (docs/sync.md, docs/access.md): the ``household`` sync entity and its ``patch`` push.

* ``household``: the households of the visits and cases the device holds, in the redacted view REST answers
  (a partner's only while consent opens them). It draws the scope of what hangs on a household (supports,
  notes on it, contact attempts). A consent running out changes a partner's scope with no write: the
  entity's ``rescope`` tells the engine when to look again.
* ``patch``: the fields a visitor may correct from the phone (``HOUSEHOLD_PATCHABLE``), merged per field by
  the version at which each last changed (``field_stamp``, kept by a flush hook here for REST and sync alike);
  a field changed on the server since ``base_version`` keeps the server's value, the phone's is kept as a
  ``sync_conflict`` and the result is ``conflict``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app import registry
from app.access.policy import can_see_household, memo_of
from app.core.principal import Principal
from app.core.uow import journal_of
from app.households.models import Consent, Household
from app.households.search import KEYED_FIELDS, refresh_search_keys
from app.journal import audit, bulk
from app.sync.models import FieldStamp, SyncConflict
from app.sync.push import MutationContext, Outcome, only_fields, reject, validated
from app.sync.scope import Context, Item, SyncEntity

#: Household fields a visitor may correct from the phone, merged per field.
HOUSEHOLD_PATCHABLE = ("contact_phone", "living_situation", "address_detail")


# --- pull --------------------------------------------------------------------------------------------------------


async def _household_scope(session: AsyncSession, ctx: Context) -> dict[uuid.UUID, Item]:
    wanted = {hid for hid in ctx.visit_household.values() if hid is not None}
    # the households of the device's other frames (cases: app.cases.sync), asked of the domains that frame them
    for module in registry.extensions("sync"):
        if hasattr(module, "framed_households"):
            wanted |= await module.framed_households(session, ctx)
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
    """The same redacted view REST answers (:func:`app.households.views.household_views`): never
    registration numbers or other sensitive fields on a phone, and a partner sees only the consents that
    cover them."""
    from app.households.views import household_views

    households = list((await session.execute(select(Household).where(Household.id.in_(ids)))).scalars())
    views = await household_views(session, ctx.principal, households)
    return {view.id: view.model_dump(mode="json", exclude={"sensitive"}) for view in views}


async def _next_consent_expiry(session: AsyncSession, ctx: Any, now: datetime) -> datetime | None:
    if ctx.reach is None or not ctx.reach.assigned:
        return None
    result = await session.execute(
        select(func.min(Consent.valid_until)).where(
            Consent.household_id.in_(list(ctx.reach.assigned)),
            Consent.withdrawn_at.is_(None),
            Consent.valid_until > now,
        )
    )
    value: datetime | None = result.scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


# --- push: per-field stamps and the patch --------------------------------------------------------------------------


def stamp_household_fields(session: Session, _ctx: Any, _instances: Any) -> None:
    from sqlalchemy import inspect

    loaded = journal_of(session).stamps_loaded  # households whose stamps are all loaded: a missing one is new
    memo = memo_of(session)
    for obj in session.dirty:
        if not isinstance(obj, Household):
            continue
        state = inspect(obj)
        changed = [f for f in HOUSEHOLD_PATCHABLE if state.attrs[f].history.has_changes()]
        for name in changed:
            version = obj.version + 1
            stamp = session.identity_map.get(session.identity_key(FieldStamp, ("household", obj.id, name)))
            if stamp is not None:
                stamp.version = version
            elif obj.id in loaded:  # every stamp of this household is loaded: this one is new
                stamp = FieldStamp(entity="household", entity_id=obj.id, field=name, version=version)
                session.add(stamp)
                known = memo.get(("stamps", obj.id)) if memo is not None else None
                if known is not None:
                    known[name] = stamp
            else:
                session.merge(FieldStamp(entity="household", entity_id=obj.id, field=name, version=version))


async def _household_prefetch(session: AsyncSession, principal: Principal, mutations: list[Any]) -> None:
    """The households a push patches, locked in id order (no deadlock between two pushes), and all their
    field stamps: then each patch reads nothing."""
    memo = memo_of(session)
    if memo is None:
        return
    ids = sorted({m.id for m in mutations}, key=str)
    loaded = journal_of(session).stamps_loaded
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = await session.execute(
            select(Household).where(Household.id.in_(chunk)).order_by(Household.id).with_for_update()
        )
        households = list(rows.scalars())
        found = {h.id for h in households}
        stamps: dict[uuid.UUID, dict[str, FieldStamp]] = {hid: {} for hid in found}
        for stamp in (
            await session.execute(
                select(FieldStamp).where(FieldStamp.entity == "household", FieldStamp.entity_id.in_(list(found)))
            )
        ).scalars():
            stamps[stamp.entity_id][stamp.field] = stamp
        for household in households:  # kept in the memo: the session holds its objects weakly
            memo[("household", household.id)] = household
        for hid in found:
            memo[("household-locked", hid)] = True
            memo[("stamps", hid)] = stamps[hid]
            loaded.add(hid)


def _stamp(session: AsyncSession, household: Household, changed: dict[str, Any], known: dict[str, FieldStamp]) -> None:
    """The stamps of ``changed`` fields of a household stored by the batch (``household.version`` is its new
    version), as :func:`stamp_household_fields` keeps them for a household the ORM writes."""
    for name in changed:
        stamp = known.get(name)
        if stamp is not None:
            stamp.version = household.version
        else:
            stamp = known[name] = FieldStamp(
                entity="household", entity_id=household.id, field=name, version=household.version
            )
            session.add(stamp)


async def _household_patch(ctx: MutationContext) -> Outcome:
    only_fields(ctx.data, HOUSEHOLD_PATCHABLE)
    # The schema of REST's PATCH /v1/households/{id}: what REST refuses, a phone cannot store either.
    from app.households.schemas import HouseholdUpdate

    ctx.data = validated(HouseholdUpdate, ctx.data)
    memo = memo_of(ctx.session)
    if memo is not None and memo.get(("household-locked", ctx.id)):
        household = memo.get(("household", ctx.id))  # prefetched and locked for this push
        if household is None:
            household = await ctx.session.get(Household, ctx.id)
    else:
        household = await ctx.session.get(Household, ctx.id, with_for_update=True)
    if household is None or not await can_see_household(ctx.session, ctx.principal, household):
        raise reject("sync.not-found", 404)
    known = memo.get(("stamps", household.id)) if memo is not None else None
    if known is not None:
        stamp_rows = list(known.values())
    else:
        # Load the stamps as objects: the flush hook then updates them without reading them again.
        stamp_rows = list(
            (
                await ctx.session.execute(
                    select(FieldStamp).where(FieldStamp.entity == "household", FieldStamp.entity_id == household.id)
                )
            ).scalars()
        )
        journal_of(ctx.session).stamps_loaded.add(household.id)
    stamps = {stamp.field: stamp.version for stamp in stamp_rows}
    conflicts: dict[str, Any] = {}
    device_values: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for name, value in ctx.data.items():
        current = getattr(household, name)
        changed_since = ctx.base_version is not None and stamps.get(name, 0) > ctx.base_version
        if changed_since and current != value:
            conflicts[name] = current
            device_values[name] = value
            ctx.session.add(
                SyncConflict(
                    device_id=ctx.device_id,
                    mutation_id=ctx.mutation_id,
                    entity="household",
                    entity_id=household.id,
                    field=name,
                    device_value={"value": value},
                    server_value={"value": current},
                    base_version=ctx.base_version,
                )
            )
        elif current != value:
            changes[name] = value
    if bulk.active(ctx.session) is not None and known is not None and not ctx.session.is_modified(household):
        # In a push's batch: the household is stored with the others at its end (app.journal.bulk), so the
        # flush hook does not see it change: its stamps are kept here, its search keys rewritten after it.
        bulk.update(ctx.session, household, changes)
        _stamp(ctx.session, household, changes, known)
        if set(changes) & set(KEYED_FIELDS):
            bulk.later(ctx.session, "household-search-keys", refresh_search_keys, household.id)
    else:
        for name, value in changes.items():
            setattr(household, name, value)
        await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "household.patch",
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        purpose="sync",
        details={"fields": sorted(ctx.data), "conflicts": sorted(conflicts)},
    )
    if conflicts:
        return Outcome("conflict", household.version, server=conflicts, device=device_values, household_id=household.id)
    return Outcome("applied", household.version, household_id=household.id)


def sync_entities() -> list[SyncEntity]:
    return [
        SyncEntity(
            "household",
            _household_scope,
            _household_load,
            Household,
            after=("visit", "case"),
            frames=True,
            content=True,
            handlers={"patch": _household_patch},
            prefetch={"patch": _household_prefetch},
            rescope=_next_consent_expiry,
        )
    ]
