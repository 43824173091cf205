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

from app.core.db import core_rows
from app.core.principal import Principal
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.holdings import read_holdings
from app.sync.models import ChangeLog
from app.sync.scope import Key, adapters

#: At most this many changes are sifted by one pull; a device further behind takes the log in slices of this size.
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


async def changes_since(session: AsyncSession, since: int, until: int) -> tuple[list[Any], int]:
    """The change notes numbered in (``since``, ``end``], and ``end``: ``until``, or (more than :data:`SIFT_LIMIT`
    of them) the number of the last of the first :data:`SIFT_LIMIT`. Numbers are given in commit order
    (:mod:`app.journal.changes`) and every number up to ``until`` is committed, so a slice misses nothing:
    the next one starts at its end."""
    rows = await core_rows(
        session,
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
        .limit(SIFT_LIMIT + 1),
    )
    if len(rows) > SIFT_LIMIT:
        return list(rows[:SIFT_LIMIT]), int(rows[SIFT_LIMIT - 1][5])
    return list(rows), until


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
