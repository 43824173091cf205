"""Recording audit events, in the same transaction as the access they record (docs/architecture.md,
"Unit of work"; what is audited: docs/access.md).

* In a unit of work that writes, a row goes into the transaction at once.
* In a read (``open_session(write=False)``) rows wait in the journal (:class:`app.core.uow.Journal`) and are
  written right after the read commits, in a short write transaction (an ``after_commit`` hook).
* In a batch (:func:`start_batch`: a sync push, a bulk import) rows collect in the journal until
  :func:`flush_batch` (or :func:`take_batch` for a writer of its own, such as COPY) writes them at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.inserts import insert_rows
from app.core.principal import Principal
from app.core.uow import begin_write, commit, is_writing, journal_of, register_hook


def _row(
    principal: Principal | None,
    action: str,
    *,
    entity: str | None,
    entity_id: uuid.UUID | None,
    household_id: uuid.UUID | None,
    purpose: str | None,
    result: str,
    address: str | None,
    details: dict[str, Any] | None,
    device_skew_ms: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "id": uuid.uuid4(),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "at": now,
        "actor_id": principal.user_id if principal else None,
        "actor_role": principal.role.value if principal else None,
        "organization_id": principal.organization_id if principal else None,
        "device_id": principal.device_id if principal else None,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "household_id": household_id,
        "purpose": purpose,
        "address": address if address is not None else (principal.address if principal else None),
        "result": result,
        "details": details if details is not None else {},
        "device_skew_ms": device_skew_ms,
    }


def start_batch(session: AsyncSession) -> None:
    """From now on audit rows collect in the journal until :func:`flush_batch` or :func:`take_batch`."""
    journal_of(session).audit_batch = []


def batch_mark(session: AsyncSession) -> int:
    return len(journal_of(session).audit_batch or [])


def batch_truncate(session: AsyncSession, mark: int) -> None:
    batch = journal_of(session).audit_batch
    if batch is not None:
        del batch[mark:]


def take_batch(session: AsyncSession) -> list[dict[str, Any]]:
    """End the batch and hand over its rows (for a caller that writes them itself)."""
    journal = journal_of(session)
    rows, journal.audit_batch = journal.audit_batch, None
    return rows or []


async def flush_batch(session: AsyncSession) -> None:
    rows = take_batch(session)
    if rows:
        await insert_rows(session, AuditEvent.__table__, rows)  # type: ignore[attr-defined]


async def _write(session: AsyncSession, rows: list[dict[str, Any]], shared: dict[str, Any] | None = None) -> None:
    """``rows`` into the transaction, the push's batch or the deferred list; ``shared``: the values every row has,
    given once to a write at once, merged into each row that waits."""
    journal = journal_of(session)
    if is_writing(session) and journal.audit_batch is None:
        await insert_rows(session, AuditEvent.__table__, rows, shared=shared)  # type: ignore[attr-defined]
        return
    full = [{**shared, **row} for row in rows] if shared else rows
    if journal.audit_batch is not None:
        journal.audit_batch.extend(full)  # written at once by flush_batch (a sync push)
    else:
        journal.audit_deferred.extend(full)


async def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    purpose: str | None = None,
    result: str = "ok",
    address: str | None = None,
    details: dict[str, Any] | None = None,
    device_skew_ms: int | None = None,
    organization_id: uuid.UUID | None = None,
) -> None:
    """Append one audit event: in the request's transaction when it writes, right after the read when it
    reads (see ``app.core.uow.open_session``), or in the push's batch. ``organization_id`` names the
    organization of an event without a principal (a failed login of an existing account)."""
    row = _row(
        principal,
        action,
        entity=entity,
        entity_id=entity_id,
        household_id=household_id,
        purpose=purpose,
        result=result,
        address=address,
        details=details,
        device_skew_ms=device_skew_ms,
    )
    if organization_id is not None and principal is None:
        row["organization_id"] = organization_id
    await _write(session, [row])


async def record_many(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    *,
    entity: str,
    items: list[tuple[uuid.UUID, uuid.UUID | None]],
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One event per (entity id, household id): for lists that send many records."""
    await record_each(session, principal, action, [(entity, eid, hid) for eid, hid in items], purpose, details)


async def record_each(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    items: list[tuple[str, uuid.UUID, uuid.UUID | None]],
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One event per (entity, entity id, household id), all in one write (bound column by column,
    :mod:`app.core.inserts`): a sync pull audits every record of a household it sends (the household, its
    notes, photos, checklist responses, supports …). The events share one time and one ``details``."""
    if not items:
        return
    common = _row(
        principal,
        action,
        entity=None,
        entity_id=None,
        household_id=None,
        purpose=purpose,
        result="ok",
        address=None,
        details=details,
        device_skew_ms=None,
    )
    own = [{"id": uuid.uuid4(), "entity": entity, "entity_id": eid, "household_id": hid} for entity, eid, hid in items]
    await _write(session, own, shared={k: v for k, v in common.items() if k not in own[0]})


async def flush_deferred(session: AsyncSession) -> None:
    """Write the audit rows a read deferred, in a short write transaction of their own (``after_commit``)."""
    journal = journal_of(session)
    rows, journal.audit_deferred = journal.audit_deferred, []
    if not rows:
        return
    await begin_write(session)
    await insert_rows(session, AuditEvent.__table__, rows)  # type: ignore[attr-defined]
    await commit(session)


def install() -> None:
    register_hook(after_commit=flush_deferred)
