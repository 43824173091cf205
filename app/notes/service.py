"""The rules of notes (``docs/checklists.md`` (notes)).

* **Who sees a note, who writes**: :mod:`app.access.notes` (whoever sees its target; a partner only while
  consent covers the household; ``internal`` notes within the author's organization; only the author edits
  or deletes). An edit keeps the previous text in ``note_revision``, a delete leaves a tombstone and a
  revision.

Reusable by the sync push (``docs/sync.md``), each raising :class:`~app.core.errors.Problem` on refusal:
:func:`create_note` (client-chosen id), :func:`edit_note`, :func:`delete_note`, and :func:`upsert_note`
(create, or edit by its author when the id exists). A ``base_version`` that is not the note's current
version answers 412 (the push reports a ``conflict`` with :func:`note_data` as the server record).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import notes as access
from app.access.policy import get_case_or_404, get_household_or_404, get_visit_or_404, memo_of
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Problem, validation_problem_of
from app.core.i18n import t
from app.core.principal import Principal
from app.journal import audit, bulk
from app.notes import messages as _messages  # noqa: F401 - registers the catalogue
from app.notes.models import Note, NoteKind, NoteRevision
from app.notes.repository import NoteRepository
from app.notes.schemas import NoteCreate, NoteUpdate


def _parse(model: type[BaseModel], data: Any) -> Any:
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem_of(exc) from None


def _require_role(principal: Principal) -> None:
    if not access.may_write_notes(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": ", ".join(r.value for r in access.NOTE_WRITERS)})


# --- visibility ----------------------------------------------------------------------------------------------


async def note_filter(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """SQL condition for the notes ``principal`` may see (:func:`app.access.notes.note_filter`)."""
    return await access.note_filter(session, principal)


async def list_stmt(
    session: AsyncSession,
    principal: Principal,
    *,
    visit_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    kind: NoteKind | None = None,
) -> Select[tuple[Note]]:
    """The notes a list shows (``household_id``: every note about the household, on it and on its visits)."""
    return NoteRepository(session).listing(
        await access.note_filter(session, principal),
        visit_id=visit_id,
        household_id=household_id,
        case_id=case_id,
        kind=kind,
    )


async def visible_note(session: AsyncSession, principal: Principal, note_id: uuid.UUID) -> Note:
    memo = memo_of(session)
    if memo is not None and ("note", note_id) in memo:  # a push looked it up with the others (notes.sync)
        found: Note = memo[("note", note_id)]
        if found.deleted_at is not None or not memo.get(("note-visible", principal.user_id, note_id)):
            raise NotFound()
        return found
    note = await NoteRepository(session).visible_one(note_id, await access.note_filter(session, principal))
    if note is None:
        raise NotFound()
    return note


async def audit_household(session: AsyncSession, note: Note) -> uuid.UUID | None:
    """Whose data a note is about (a case note: the case's household)."""
    if note.household_id is not None or note.case_id is None:
        return note.household_id
    return await NoteRepository(session).case_household(note.case_id)


async def get_note_or_404(session: AsyncSession, principal: Principal, note_id: uuid.UUID) -> Note:
    """One visible note (read audited)."""
    note = await visible_note(session, principal, note_id)
    await audit.record(
        session,
        principal,
        "note.read",
        entity="note",
        entity_id=note.id,
        household_id=await audit_household(session, note),
    )
    return note


async def audit_list(session: AsyncSession, principal: Principal, notes: list[Note]) -> None:
    case_households = await NoteRepository(session).case_households({n.case_id for n in notes if n.case_id is not None})
    items = [(n.id, n.household_id if n.case_id is None else case_households.get(n.case_id)) for n in notes]
    await audit.record_many(session, principal, "note.read", entity="note", items=items)


# --- writing -------------------------------------------------------------------------------------------------


async def _resolve_target(
    session: AsyncSession, principal: Principal, body: NoteCreate
) -> tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]:
    """(visit_id, household_id, case_id, household for the audit) after checking the caller sees the
    target (404 otherwise; a partner also needs consent for the household)."""
    if body.visit_id is not None:
        visit = await get_visit_or_404(session, principal, body.visit_id)
        if not await access.may_note_on_household(session, principal, visit.household_id):
            raise NotFound()
        return visit.id, visit.household_id, None, visit.household_id
    if body.case_id is not None:
        case = await get_case_or_404(session, principal, body.case_id)
        if not await access.may_note_on_household(session, principal, case.household_id):
            raise NotFound()
        return None, None, case.id, case.household_id
    assert body.household_id is not None
    household = await get_household_or_404(session, principal, body.household_id)
    return None, household.id, None, household.id


async def create_note(
    session: AsyncSession, principal: Principal, note_id: uuid.UUID | None, data: Any, *, known_new: bool = False
) -> Note:
    """Create a note (``data``: :class:`NoteCreate` fields; ``note_id`` is the client's id or None;
    ``known_new``: the caller just found no note with that id)."""
    _require_role(principal)
    body: NoteCreate = _parse(NoteCreate, data)
    note_id = note_id or body.id or uuid.uuid4()
    notes = NoteRepository(session)
    if not known_new and await notes.get(note_id) is not None:
        raise Conflict("note-exists", "notes.exists")
    visit_id, household_id, case_id, audited = await _resolve_target(session, principal, body)
    note = Note(
        id=note_id,
        visit_id=visit_id,
        household_id=household_id,
        case_id=case_id,
        author_id=principal.user_id,
        author_organization_id=principal.organization_id,
        body=body.body,
        kind=body.kind,
        internal=body.internal,
    )
    notes.add(note)
    if bulk.active(session) is None:  # in a push's batch the ORM inserts all its notes at once, at its end
        await session.flush()
    await audit.record(
        session,
        principal,
        "note.create",
        entity="note",
        entity_id=note.id,
        household_id=audited,
        details={"kind": note.kind.value, "internal": note.internal},
    )
    return note


def _check_base(note: Note, base_version: int | None) -> None:
    if base_version is not None and base_version != note.version:
        raise PreconditionFailed("notes.stale", params={"version": note.version}, extra={"version": note.version})


def require_author(principal: Principal, note: Note) -> None:
    if not access.is_author(principal, note):
        raise Forbidden("notes.author-only", slug="not-note-author")


def _revision(note: Note, principal: Principal, action: str) -> NoteRevision:
    return NoteRevision(
        note_id=note.id,
        note_version=note.version,
        body=note.body,
        kind=note.kind,
        internal=note.internal,
        action=action,
        changed_by_id=principal.user_id,
        changed_at=utcnow(),
    )


_TARGETS = ("visit_id", "household_id", "case_id")


async def edit_note(
    session: AsyncSession,
    principal: Principal,
    note_id: uuid.UUID,
    data: Any,
    *,
    base_version: int | None = None,
) -> Note:
    """Edit ``body``, ``kind`` or ``internal`` of one's own note; the old state goes to ``note_revision``.
    ``data`` may repeat the note's target (a sync upsert carries it) but not change it."""
    _require_role(principal)
    note = await visible_note(session, principal, note_id)
    require_author(principal, note)
    if isinstance(data, dict):
        targets = {k: data[k] for k in _TARGETS if k in data}
        data = {k: v for k, v in data.items() if k not in _TARGETS and k != "id"}
        target = {"visit_id": note.visit_id, "case_id": note.case_id, "household_id": note.household_id}
        for name, value in targets.items():
            if value is None:
                continue
            if str(value) != str(target[name]):
                raise Problem(
                    422,
                    "validation",
                    "detail.validation",
                    params={"count": 1},
                    extra={"errors": [{"field": name, "code": "immutable", "message": t("notes.target-immutable")}]},
                )
    patch: NoteUpdate = _parse(NoteUpdate, data)
    changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None}
    changes = {k: v for k, v in changes.items() if getattr(note, k) != v}
    if not changes:
        return note  # nothing to change (a retried or identical edit): no conflict either
    _check_base(note, base_version)
    session.add(_revision(note, principal, "edit"))
    bulk.update(session, note, changes)  # in a push's batch: stored with the others at its end
    if bulk.active(session) is None:
        await session.flush()
    await audit.record(
        session,
        principal,
        "note.update",
        entity="note",
        entity_id=note.id,
        household_id=await audit_household(session, note),
        details={"fields": sorted(changes)},
    )
    return note


async def delete_note(
    session: AsyncSession, principal: Principal, note_id: uuid.UUID, *, base_version: int | None = None
) -> Note:
    """Delete one's own note: a tombstone (``deleted_at``) and a revision with its last state."""
    _require_role(principal)
    note = await visible_note(session, principal, note_id)
    require_author(principal, note)
    _check_base(note, base_version)
    session.add(_revision(note, principal, "delete"))
    # in a push's batch: stored with the others at its end
    bulk.update(session, note, {"deleted_at": utcnow(), "deleted_by_id": principal.user_id})
    if bulk.active(session) is None:
        await session.flush()
    await audit.record(
        session,
        principal,
        "note.delete",
        entity="note",
        entity_id=note.id,
        household_id=await audit_household(session, note),
    )
    return note


async def upsert_note(
    session: AsyncSession,
    principal: Principal,
    note_id: uuid.UUID,
    data: dict[str, Any],
    *,
    base_version: int | None = None,
) -> tuple[Note, bool]:
    """The sync ``note`` ``upsert``: create with the client's id, or edit when it exists (author only).
    Returns (note, created)."""
    if await NoteRepository(session).get(note_id) is None:
        return await create_note(session, principal, note_id, data, known_new=True), True
    return await edit_note(session, principal, note_id, data, base_version=base_version), False
