"""Applying what phones push (docs/sync.md#push).

Each mutation runs in its own savepoint and is recorded once per (device, mutation id) with its first
result; a retry answers that result again with status ``duplicate`` and changes nothing. A mutation that
is rejected rolls back alone; later mutations of the same record in the same push are rejected with it.

While the mutations run in one savepoint, what they write waits for its end (``app.journal.bulk``): a push
costs a constant number of statements. A rejection, or a row that moved under the push, replays it one
savepoint per mutation.

Handlers by (entity, op). Domain modules provide the rules (visit transitions, note authorship,
checklist merges); this module checks the shape, the access and the bookkeeping.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col

from app.access.policy import (
    clear_memo,
    end_memo,
    start_memo,
)
from app.core.db import table_of, utcnow
from app.core.errors import Problem, is_data_error, validation_problem_of
from app.core.i18n import t
from app.core.principal import Principal
from app.core.state import AppState
from app.journal import audit, bulk
from app.journal.changes import pending_mark, pending_restore
from app.sync.models import DeviceSyncState, SyncMutation
from app.sync.scope import adapters
from app.sync.state import require_device, sync_state


@dataclass
class MutationContext:
    state: AppState
    session: AsyncSession
    principal: Principal
    device_id: uuid.UUID
    mutation_id: uuid.UUID
    entity: str
    op: str
    id: uuid.UUID
    base_version: int | None
    data: dict[str, Any]
    at: datetime | None


@dataclass
class Outcome:
    status: str  # applied | conflict
    version: int | None = None
    server: dict[str, Any] | None = None
    device: dict[str, Any] | None = None
    household_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[MutationContext], Awaitable[Outcome]]


def reject(key: str, status: int = 422, **params: Any) -> Problem:
    return Problem(status, "mutation-rejected", key, params=params)


def only_fields(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise reject("sync.unknown-fields", fields=", ".join(unknown))


def validated(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked by the REST schema ``model`` (the same lengths, patterns and normalization), as the
    values REST would store; otherwise a ``rejected`` result carrying the field errors as REST words them
    (``field`` is the name within the mutation's ``data``)."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem_of(exc) from None
    return parsed.model_dump(include=set(data))


#: Loads, for all the push's mutations of one (entity, op), what their handler looks up (optional).
Prefetcher = Callable[[AsyncSession, Principal, list[Any]], Awaitable[None]]


def _extended(field_name: str, hook: str) -> dict[tuple[str, str], Any]:
    """What the entities declare (``SyncEntity.handlers`` / ``.prefetch`` by op), then what every domain whose
    ``sync`` module has the former ``hook()`` adds."""
    from app import registry

    out = {(entity.name, op): fn for entity in adapters() for op, fn in getattr(entity, field_name).items()}
    for module in registry.extensions("sync"):
        if hasattr(module, hook):
            out.update(getattr(module, hook)())
    return out


@functools.cache
def handlers() -> dict[tuple[str, str], Handler]:
    """Every push handler by (entity, op)."""
    return _extended("handlers", "sync_handlers")


@functools.cache
def prefetchers() -> dict[tuple[str, str], Prefetcher]:
    """Likewise the prefetchers."""
    return _extended("prefetch", "sync_prefetchers")


# --- the push ----------------------------------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _result(mutation_id: uuid.UUID, status: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"mutation_id": str(mutation_id), "status": status}
    out.update({k: v for k, v in kw.items() if v is not None})
    return out


class _Isolate(Exception):
    """A mutation was rejected while the push ran in one savepoint: replay it one savepoint per mutation."""


@dataclass
class _Run:
    seen: dict[uuid.UUID, dict[str, Any]]
    results: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


async def _apply(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    mutations: list[Any],
    seen: dict[uuid.UUID, dict[str, Any]],
    *,
    isolate: bool,
) -> _Run:
    """Apply ``mutations`` in order. ``isolate``: each in its own savepoint, a rejected one rolled back
    alone; otherwise the caller's single savepoint holds them all and a rejection raises :class:`_Isolate`."""
    table = handlers()
    run = _Run(seen=dict(seen))
    rejected: set[tuple[str, uuid.UUID]] = set()
    now = utcnow()
    for m in mutations:
        if m.mutation_id in run.seen:
            run.results.append({**run.seen[m.mutation_id], "status": "duplicate"})
            continue
        key = (m.entity, m.id)
        handler = table.get((m.entity, m.op))
        if handler is None:
            problem = reject("sync.unsupported", entity=m.entity, op=m.op)
            result = _result(m.mutation_id, "rejected", error=problem.body())
        elif key in rejected:
            problem = reject("sync.depends-on-rejected", 409)
            result = _result(m.mutation_id, "rejected", error=problem.body())
        else:
            ctx = MutationContext(
                state,
                session,
                principal,
                device_id,
                m.mutation_id,
                m.entity,
                m.op,
                m.id,
                m.base_version,
                dict(m.data or {}),
                _parse_time(m.at),
            )
            if isolate:
                mark = pending_mark(session)
                audit_mark = audit.batch_mark(session)
                savepoint = await session.begin_nested()
            try:
                outcome = await handler(ctx)
                if isolate:
                    await savepoint.commit()
            except (Problem, IntegrityError, StaleDataError, DBAPIError) as exc:
                if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError) and not is_data_error(exc):
                    raise  # the database failed, not this mutation: the push fails whole (503/500)
                if not isolate:
                    raise _Isolate from exc
                # A race with another writer (two phones creating the same record at once) is refused
                # like any other conflict; the phone gets the winner on its next pull.
                await savepoint.rollback()
                clear_memo(session)
                pending_restore(session, mark)
                audit.batch_truncate(session, audit_mark)
                rejected.add(key)
                problem = (
                    exc
                    if isinstance(exc, Problem)
                    else Problem(422, "invalid-data", "detail.invalid-data")
                    if is_data_error(exc)
                    else Problem(409, "conflict", "detail.stale")
                )
                result = _result(m.mutation_id, "rejected", error=problem.body())
            else:
                extra = {"server": outcome.server, "device": outcome.device} if outcome.status == "conflict" else {}
                if outcome.status == "conflict" and outcome.server:
                    extra["error"] = {"title": t("sync.conflict", fields=", ".join(sorted(outcome.server)))}
                result = _result(m.mutation_id, outcome.status, version=outcome.version, **extra, **outcome.extra)
        run.seen[m.mutation_id] = result
        run.results.append(result)
        run.counts[result["status"]] = run.counts.get(result["status"], 0) + 1
        run.records.append(
            {
                "id": uuid.uuid4(),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "device_id": device_id,
                "mutation_id": m.mutation_id,
                "entity": m.entity[:32],
                "entity_id": m.id,
                "op": m.op[:16],
                "status": result["status"],
                "result": result,
                "device_at": _parse_time(m.at),
            }
        )
    return run


async def _prefetch(session: AsyncSession, principal: Principal, mutations: list[Any]) -> None:
    """Load what the handlers will look up, in a few queries for the whole push."""
    by_kind: dict[tuple[str, str], list[Any]] = {}
    for m in mutations:
        by_kind.setdefault((m.entity, m.op), []).append(m)
    for kind, fetch in prefetchers().items():
        if kind in by_kind:
            await fetch(session, principal, by_kind[kind])


async def push(
    state: AppState, session: AsyncSession, principal: Principal, body: Any, client_device_id: str
) -> list[dict[str, Any]]:
    device_id = require_device(principal)
    if body.device_id not in (client_device_id, str(device_id)):
        raise Problem(409, "device-mismatch", "detail.device-mismatch")
    now = utcnow()
    st: DeviceSyncState = await sync_state(session, device_id)
    device_time = _parse_time(body.device_time)
    skew_ms = None
    if device_time is not None:
        skew_ms = int((device_time - now).total_seconds() * 1000)
        st.clock_skew_ms = skew_ms if st.clock_skew_ms is None else int(0.7 * st.clock_skew_ms + 0.3 * skew_ms)
    st.last_push_at = now

    ids = [m.mutation_id for m in body.mutations]
    seen: dict[uuid.UUID, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        rows = await session.execute(
            select(col(SyncMutation.mutation_id), col(SyncMutation.result)).where(
                col(SyncMutation.device_id) == device_id, col(SyncMutation.mutation_id).in_(ids[i : i + 500])
            )
        )
        seen.update((mutation_id, result) for mutation_id, result in rows)
    fresh = [m for m in body.mutations if m.mutation_id not in seen]

    audit.start_batch(session)
    start_memo(session)
    try:
        # Usually every mutation applies: run them all in one savepoint (two statements instead of two per
        # mutation). When one is rejected, roll that back and replay with a savepoint per mutation, so the
        # rejected one rolls back alone.
        # While they run in one savepoint, the handlers' inserts wait for one flush at the end (the ORM sends
        # them as one executemany per table) and their versioned updates for one UPDATE per table
        # (app.journal.bulk): a push costs a constant number of statements, whatever its size.
        mark = pending_mark(session)
        batch = await session.begin_nested()
        bulk.start(session)
        try:
            await _prefetch(session, principal, fresh)
            run = await _apply(state, session, principal, device_id, body.mutations, seen, isolate=False)
            try:
                await session.flush()
                await bulk.write(session)
                await session.flush()
            except (IntegrityError, StaleDataError, DBAPIError, bulk.BulkConflict) as exc:
                if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError) and not is_data_error(exc):
                    raise
                raise _Isolate from exc
            await batch.commit()
        except _Isolate:
            state.metrics.push_replays.inc()
            await batch.rollback()
            bulk.forget(session)
            bulk.end(session)
            clear_memo(session)
            pending_restore(session, mark)
            audit.start_batch(session)
            run = await _apply(state, session, principal, device_id, body.mutations, seen, isolate=True)
    finally:
        bulk.end(session)
        end_memo(session)
    if run.records:
        await session.execute(insert(table_of(SyncMutation)), run.records)
    await audit.flush_batch(session)
    await audit.record(
        session,
        principal,
        "sync.push",
        entity="device",
        entity_id=device_id,
        details={"mutations": len(body.mutations), **run.counts},
        device_skew_ms=skew_ms,
    )
    return run.results
