"""Contact attempts on the phone (docs/data-model.md): joined into sync by ``app.sync.scope`` and ``app.sync.push``.

* ``contact_attempt``: the attempts on the households the device holds (so of consented households only, for
  a partner), as REST shows them. The household's reachability travels with the household itself.
* ``contact_attempt`` ``upsert``: an attempt recorded offline, with the phone's id. Idempotent by id: the same
  attempt pushed again (another mutation id, after a reinstall) changes nothing; its author may edit the note;
  anything else is rejected (409).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import ContactAttempt
from app.contacts.schemas import ContactAttemptData

FIELDS = ("household_id", "method", "outcome", "at", "note")


async def _attempt_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    if not ctx.household_ids:
        return {}
    out: dict[uuid.UUID, Any] = {}
    ids = list(ctx.household_ids)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(ContactAttempt.id, ContactAttempt.version, ContactAttempt.household_id).where(
                ContactAttempt.household_id.in_(ids[start : start + 500]),
                ctx.narrow("contact_attempt", ContactAttempt.id),
            )
        )
        out.update({aid: Item(version, hid) for aid, version, hid in rows})
    return out


async def _attempt_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    from app.contacts.service import public

    rows = (await session.execute(select(ContactAttempt).where(ContactAttempt.id.in_(ids)))).scalars()
    return {a.id: public(a).model_dump(mode="json") for a in rows}


def sync_adapters() -> list[Any]:
    from app.sync.scope import Adapter

    return [
        Adapter("contact_attempt", _attempt_scope, _attempt_load, ContactAttempt, after=("household",), content=True)
    ]


async def _attempt_upsert(ctx: Any) -> Any:
    from app.access.policy import can_see_household
    from app.contacts.config import contact_settings
    from app.contacts.service import record_attempt
    from app.households.models import Household
    from app.sync.push import Outcome, only_fields, reject
    from app.sync.push import validated as check

    only_fields(ctx.data, FIELDS)
    data = check(ContactAttemptData, ctx.data)
    household = await ctx.session.get(Household, uuid.UUID(str(data["household_id"])))
    if household is None or not await can_see_household(ctx.session, ctx.principal, household):
        raise reject("sync.not-found", 404)
    attempt, _created = await record_attempt(
        ctx.session,
        ctx.principal,
        household,
        attempt_id=ctx.id,
        method=str(getattr(data["method"], "value", data["method"])),
        outcome=str(getattr(data["outcome"], "value", data["outcome"])),
        at=data.get("at") or ctx.at,
        note=data.get("note"),
        threshold=contact_settings(ctx.state).unreachable_after,
        purpose="sync",
    )
    return Outcome("applied", attempt.version, household_id=household.id)


def sync_handlers() -> dict[tuple[str, str], Any]:
    return {("contact_attempt", "upsert"): _attempt_upsert}
