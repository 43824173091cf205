"""Notes on the phone (``docs/sync.md``): what a device holds, and the ``note`` ``upsert`` and ``delete`` pushes.

Declared to sync once, here (:func:`sync_entities`: scope, loader, push handlers).

* A device holds the notes on the visits, cases and households it holds (a partner's only while consent
  opens the household; a facility visit's notes identify no household), never another organization's
  internal notes, never tombstones (a deleted note is sent as ``delete``).
* ``upsert`` creates the note with the phone's id, or edits it when it exists (its author only; the target
  cannot change). An edit based on an older version than the server's is not applied: the result is
  ``conflict`` with the server's and the phone's ``body``/``kind``/``internal``, and the phone's text is kept
  in ``note_revision`` (action ``conflict``).
* ``delete`` (author only) leaves a tombstone; the last text stays in ``note_revision``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.notes import internal_seen_by, note_filter, on_household_itself
from app.cases.models import Case
from app.core.db import core_rows, utcnow
from app.core.errors import Problem
from app.journal import bulk
from app.notes.models import Note, NoteKind, NoteRevision
from app.notes.schemas import NotePublic, note_data
from app.notes.service import audit_household, create_note, delete_note, upsert_note, visible_note

NOTE_FIELDS = ("visit_id", "household_id", "case_id", "body", "kind", "internal")
EDITABLE = ("body", "kind", "internal")


async def _note_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    targets = []
    if ctx.visit_ids:
        targets.append(ctx.among(Note.visit_id, ctx.visit_ids))
    if ctx.case_ids:
        targets.append(ctx.among(Note.case_id, ctx.case_ids))
    if ctx.household_ids:
        targets.append(and_(on_household_itself(), ctx.among(Note.household_id, ctx.household_ids)))
    if not targets:
        return {}
    rows = await ctx.rows(
        session,
        "note",
        select(Note.id, Note.version, Note.household_id, Note.case_id).where(
            Note.deleted_at.is_(None), internal_seen_by(ctx.principal), or_(*targets)
        ),
        Note.id,
    )
    case_ids = {cid for _, _, _, cid in rows if cid is not None}
    case_household: dict[uuid.UUID, uuid.UUID] = {}
    if case_ids:
        found = await session.execute(select(Case.id, Case.household_id).where(ctx.among(Case.id, case_ids)))
        case_household = dict(found.all())
    out: dict[uuid.UUID, Any] = {}
    for nid, version, household_id, case_id in rows:
        whose = household_id if case_id is None else case_household.get(case_id)
        if whose is not None and not ctx.household_open(whose):
            continue
        out[nid] = Item(version, whose)
    return out


def note_record(note: Note) -> dict[str, Any]:
    """A note as REST and sync show it."""
    return NotePublic.model_validate(note_data(note)).model_dump(mode="json")


#: The columns a pulled note shows (``NotePublic``): read as plain rows, not as ORM objects (a first sync loads
#: thousands; the identity map and the instrumentation cost more than the rest of the page), and passed on as
#: they are read: the pull's response is written by orjson, which writes ids, kinds and (through
#: ``app.core.times.json_default``) times as REST does, so the rows are not validated and dumped again here.
_NOTE_NAMES = tuple(NotePublic.model_fields)
_NOTE_COLUMNS = tuple(getattr(Note, name) for name in _NOTE_NAMES)


async def _note_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = await core_rows(session, select(*_NOTE_COLUMNS).where(ctx.among(Note.id, ids)))
    return {row[0]: dict(zip(_NOTE_NAMES, row, strict=True)) for row in rows}


# --- push ------------------------------------------------------------------------------------------------------


async def _note_prefetch(session: AsyncSession, principal: Any, mutations: list[Any]) -> None:
    """For a push: the notes it names (present ones into the session, absent ones remembered) and the
    visits they are written on, in a few queries."""
    from app.access.policy import memo_of, prefetch_visits

    memo = memo_of(session)
    if memo is None:
        return
    ids = list({m.id for m in mutations})
    present_ids: set[uuid.UUID] = set()
    visible = await note_filter(session, principal)
    for i in range(0, len(ids), 500):
        # present ones are kept in the memo (the session holds its objects weakly): their upserts read nothing
        chunk = ids[i : i + 500]
        for note in (await session.execute(select(Note).where(Note.id.in_(chunk)))).scalars():
            memo[("note", note.id)] = note
            present_ids.add(note.id)
        if present_ids:  # which of them the caller sees (app.access.notes), for visible_note
            for (note_id,) in await session.execute(select(Note.id).where(Note.id.in_(chunk), visible)):
                memo[("note-visible", principal.user_id, note_id)] = True
    for note_id in ids:
        if note_id not in present_ids:
            memo[("note-absent", note_id)] = True
    visit_ids = []
    for m in mutations:
        raw = m.data.get("visit_id") if isinstance(m.data, dict) else None
        try:
            visit_ids.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    await prefetch_visits(session, principal, visit_ids)


async def _note_upsert(ctx: Any) -> Any:
    from app.access.policy import memo_of
    from app.sync.push import Outcome, only_fields

    only_fields(ctx.data, NOTE_FIELDS)
    memo = memo_of(ctx.session)
    try:
        if memo is not None and memo.pop(("note-absent", ctx.id), False):
            note = await create_note(ctx.session, ctx.principal, ctx.id, ctx.data, known_new=True)
            memo[("note-created", ctx.id)] = note
        else:
            if memo is not None and memo.pop(("note-created", ctx.id), None) is not None:
                await ctx.session.flush()  # created earlier in this push, not inserted yet: now it is
            note, _created = await upsert_note(
                ctx.session, ctx.principal, ctx.id, ctx.data, base_version=ctx.base_version
            )
    except Problem as problem:
        if problem.status != 412:
            raise
        return await _edit_conflict(ctx, Outcome)
    return Outcome("applied", note.version, household_id=await audit_household(ctx.session, note))


async def _edit_conflict(ctx: Any, outcome: Any) -> Any:
    """The author's edit was based on an older version: keep the server's note, store the phone's text."""
    note = await visible_note(ctx.session, ctx.principal, ctx.id)
    server = {"body": note.body, "kind": note.kind.value, "internal": note.internal}
    device = {k: ctx.data[k] for k in EDITABLE if k in ctx.data}
    kind = device.get("kind", note.kind)
    try:
        kind = NoteKind(kind)
    except ValueError:
        kind = note.kind
    ctx.session.add(
        NoteRevision(
            note_id=note.id,
            note_version=note.version,
            body=str(device.get("body", note.body)),
            kind=kind,
            internal=bool(device.get("internal", note.internal)),
            action="conflict",
            changed_by_id=ctx.principal.user_id,
            changed_at=utcnow(),
        )
    )
    if bulk.active(ctx.session) is None:  # in a push's batch it is inserted with the others at its end
        await ctx.session.flush()
    changed = {k: v for k, v in device.items() if server.get(k) != v}
    return outcome(
        "conflict",
        note.version,
        server={k: server[k] for k in changed},
        device=changed,
        household_id=await audit_household(ctx.session, note),
    )


async def _note_delete(ctx: Any) -> Any:
    from app.sync.push import Outcome, only_fields

    only_fields(ctx.data, ())
    note = await delete_note(ctx.session, ctx.principal, ctx.id)
    return Outcome("applied", note.version, household_id=await audit_household(ctx.session, note))


# --- declaration -------------------------------------------------------------------------------------------------


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [
        SyncEntity(
            "note",
            _note_scope,
            _note_load,
            Note,
            after=("visit", "case", "household"),
            content=True,
            handlers={"upsert": _note_upsert, "delete": _note_delete},
            prefetch={"upsert": _note_prefetch, "delete": _note_prefetch},
        )
    ]
