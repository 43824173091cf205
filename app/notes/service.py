"""The rules of notes (DESIGN §2, §3).

* **Who sees a note**: whoever can see its target (the visit, household or case, by the access policy);
  a partner only while consent covers the household (for a visit on a facility: the visit alone); a note
  marked ``internal`` only within its author's organization. Tombstones are seen by nobody over REST.
* **Who writes**: coordinators, planners and partners who can see the target. Only the author edits or
  deletes; an edit keeps the previous text in ``note_revision``, a delete leaves a tombstone and a revision.

Reusable by the sync push (DESIGN §4.2), each raising :class:`~app.core.errors.Problem` on refusal:
:func:`create_note` (client-chosen id), :func:`edit_note`, :func:`delete_note`, and :func:`upsert_note`
(create, or edit by its author when the id exists). A ``base_version`` that is not the note's current
version answers 412 (the push reports a ``conflict`` with :func:`note_data` as the server record).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import (
    case_filter,
    get_case_or_404,
    get_household_or_404,
    get_visit_or_404,
    household_filter,
    partner_reach,
    visit_filter,
)
from app.audit import service as audit
from app.auth.models import Role
from app.auth.principal import Principal
from app.care.models import Case
from app.core.db import utcnow
from app.core.errors import Problem, not_found, validation_problem_of
from app.core.i18n import t
from app.households.models import Household
from app.notes import messages as _messages  # noqa: F401 - registers the catalogue
from app.notes.models import Note, NoteRevision
from app.notes.schemas import NoteCreate, NotePatch
from app.visits.models import Visit

NOTE_WRITERS = (Role.coordinator, Role.planner, Role.partner)
NOTE_READERS = NOTE_WRITERS


def _parse(model: type[BaseModel], data: Any) -> Any:
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem_of(exc) from None


def _require_role(principal: Principal) -> None:
    if principal.role not in NOTE_WRITERS:
        raise Problem(
            403, "forbidden", "detail.role-forbidden", params={"roles": ", ".join(r.value for r in NOTE_WRITERS)}
        )


# --- visibility ----------------------------------------------------------------------------------------------


async def note_filter(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """SQL condition for the notes ``principal`` may see (for lists and sync scoping)."""
    if principal.role not in NOTE_READERS:
        return false()
    visits = select(Visit.id).where(Visit.deleted_at.is_(None), visit_filter(principal))
    cases = select(Case.id).where(Case.deleted_at.is_(None), case_filter(principal))
    households = select(Household.id).where(Household.deleted_at.is_(None), await household_filter(session, principal))
    if principal.role == Role.partner:
        consented = list((await partner_reach(session, principal)).consented)
        visit_clause = and_(
            Note.visit_id.in_(visits), or_(Note.household_id.is_(None), Note.household_id.in_(consented))
        )
        case_clause = Note.case_id.in_(cases.where(Case.household_id.in_(consented)))
    else:
        visit_clause = Note.visit_id.in_(visits)
        case_clause = Note.case_id.in_(cases)
    household_clause = and_(Note.visit_id.is_(None), Note.case_id.is_(None), Note.household_id.in_(households))
    return and_(
        Note.deleted_at.is_(None),
        or_(Note.internal.is_(False), Note.author_organization_id == principal.organization_id),
        or_(visit_clause, case_clause, household_clause),
    )


async def visible_note(session: AsyncSession, principal: Principal, note_id: uuid.UUID) -> Note:
    note = (
        await session.execute(select(Note).where(Note.id == note_id, await note_filter(session, principal)))
    ).scalar_one_or_none()
    if note is None:
        raise not_found()
    return note


async def audit_household(session: AsyncSession, note: Note) -> uuid.UUID | None:
    """Whose data a note is about (a case note: the case's household)."""
    if note.household_id is not None or note.case_id is None:
        return note.household_id
    return (await session.execute(select(Case.household_id).where(Case.id == note.case_id))).scalar_one_or_none()


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
    case_ids = {n.case_id for n in notes if n.case_id is not None}
    case_households: dict[uuid.UUID, uuid.UUID] = {}
    if case_ids:
        rows = await session.execute(select(Case.id, Case.household_id).where(Case.id.in_(case_ids)))
        case_households = dict(rows.all())
    items = [(n.id, n.household_id if n.case_id is None else case_households.get(n.case_id)) for n in notes]
    await audit.record_many(session, principal, "note.read", entity="note", items=items)


# --- writing -------------------------------------------------------------------------------------------------


async def _resolve_target(
    session: AsyncSession, principal: Principal, body: NoteCreate
) -> tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]:
    """(visit_id, household_id, case_id, household for the audit) after checking the caller sees the
    target (404 otherwise; a partner also needs consent for the household)."""
    reach = None
    if principal.role == Role.partner:
        reach = await partner_reach(session, principal)
    if body.visit_id is not None:
        visit = await get_visit_or_404(session, principal, body.visit_id)
        if reach is not None and visit.household_id is not None and not reach.household_visible(visit.household_id):
            raise not_found()
        return visit.id, visit.household_id, None, visit.household_id
    if body.case_id is not None:
        case = await get_case_or_404(session, principal, body.case_id)
        if reach is not None and not reach.household_visible(case.household_id):
            raise not_found()
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
    if not known_new and await session.get(Note, note_id) is not None:
        raise Problem(409, "note-exists", "notes.exists")
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
    session.add(note)
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
        raise Problem(
            412,
            "precondition-failed",
            "notes.stale",
            params={"version": note.version},
            extra={"version": note.version},
        )


def require_author(principal: Principal, note: Note) -> None:
    if note.author_id != principal.user_id:
        raise Problem(403, "not-note-author", "notes.author-only")


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
    patch: NotePatch = _parse(NotePatch, data)
    changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None}
    changes = {k: v for k, v in changes.items() if getattr(note, k) != v}
    if not changes:
        return note  # nothing to change (a retried or identical edit): no conflict either
    _check_base(note, base_version)
    session.add(_revision(note, principal, "edit"))
    for name, value in changes.items():
        setattr(note, name, value)
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
    note.deleted_at = utcnow()
    note.deleted_by_id = principal.user_id
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
    if await session.get(Note, note_id) is None:
        return await create_note(session, principal, note_id, data, known_new=True), True
    return await edit_note(session, principal, note_id, data, base_version=base_version), False
