"""Sifting the change log: whether changes committed since a device's cursor concern it at all, so that others'
changes cost a pull nothing but the read of the log.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.principal import Principal
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.holdings import read_holdings
from app.sync.models import ChangeLog
from app.sync.scope import Key, adapters

#: More changes than this since the cursor: diff rather than sift them.
SIFT_LIMIT = 500


def content_kinds() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """From the declarations: the entities whose changes stay inside the scope, the reference data every
    device holds, and the entities that draw the others' scope."""
    entities = adapters()
    return (
        frozenset(e.name for e in entities if e.content),
        frozenset(e.name for e in entities if e.shared),
        frozenset(e.name for e in entities if e.frames),
    )


async def changes_since(session: AsyncSession, since: int, until: int) -> list[Any] | None:
    """The change notes numbered in (``since``, ``until``], or ``None`` when there are too many to sift."""
    rows = (
        await session.execute(
            select(
                col(ChangeLog.entity),
                col(ChangeLog.entity_id),
                col(ChangeLog.household_id),
                col(ChangeLog.visit_id),
                col(ChangeLog.case_id),
                col(ChangeLog.seq),
            )
            .where(col(ChangeLog.seq) > since, col(ChangeLog.seq) <= until)
            .order_by(col(ChangeLog.seq))
            .limit(SIFT_LIMIT + 1)
        )
    ).all()
    return None if len(rows) > SIFT_LIMIT else list(rows)


def related_keys(household_id: uuid.UUID | None, visit_id: uuid.UUID | None, case_id: uuid.UUID | None) -> set[Key]:
    """The records a change note names as its relations, as holding keys."""
    named = (("household", household_id), ("visit", visit_id), ("case", case_id))
    return {(entity, eid) for entity, eid in named if eid is not None}


async def concerns_device(session: AsyncSession, principal: Principal, device_id: uuid.UUID, rows: list[Any]) -> bool:
    """Whether any of these change notes (some of which may move a scope) can concern this device.
    Conservative: reference data, and a change that names no relation, concern everyone; a change concerns
    the device when it touches a record the device holds or was sent, or a household, visit or case it holds
    records of (indexed lookups of its holdings); otherwise each entity's declaration says
    (``SyncEntity.concerns``: e.g. the caller is, or was, on that visit's team)."""
    if not rows:
        return False
    content, shared, _frames = content_kinds()
    keys: set[Key] = set()
    households: set[uuid.UUID] = set()
    scope_rows = []
    for row in rows:
        entity, entity_id, household_id, visit_id, case_id, _seq = row
        if entity in shared or (household_id is None and visit_id is None and case_id is None):
            return True
        keys |= {(entity, entity_id), *related_keys(household_id, visit_id, case_id)}
        if household_id is not None:
            households.add(household_id)
        if entity not in content:
            scope_rows.append(row)
    if await read_holdings(session, device_id, 0, keys, households, home_entities=None, every=True):
        return True
    for declared in adapters() if scope_rows else ():
        if declared.concerns is not None and await declared.concerns(session, principal, scope_rows):
            return True
    return False
