"""``/v1/notes`` and ``/v1/notes/{id}`` (``docs/checklists.md`` (notes))."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.access import gates
from app.core.deps import SessionDep
from app.core.errors import Problem
from app.core.http import check_if_match, problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.notes import service
from app.notes.models import Note, NoteKind
from app.notes.repository import NoteRepository
from app.notes.schemas import NoteCreate, NotePublic, NoteUpdate, note_public

router = APIRouter(tags=["notes"])


_TEXT = {
    403: "Your role cannot write notes, or you are not the note's author",
    404: "No such note or target, or not visible to you",
    409: "A note with this id exists",
    412: "If-Match does not match the note's current version",
    422: "Invalid input (field errors in `errors`)",
    428: "If-Match is required",
}


@router.get(
    "/v1/notes",
    response_model=Page[NotePublic],
    summary="Notes you may see, newest first, filtered by visit, household or case",
    responses=problems(403, texts=_TEXT),
)
async def list_notes(
    principal: gates.FieldStaff,
    session: SessionDep,
    visit_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    kind: NoteKind | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[NotePublic]:
    """``household_id`` lists every note about the household: on it, and on its visits."""
    stmt = await service.list_stmt(
        session, principal, visit_id=visit_id, household_id=household_id, case_id=case_id, kind=kind
    )
    rows, next_cursor = await NoteRepository(session).page(
        stmt, order=(Note.created_at, Note.id), limit=limit, cursor=cursor, descending=True
    )
    await service.audit_list(session, principal, rows)
    return Page(items=[note_public(n) for n in rows], next_cursor=next_cursor)


@router.post(
    "/v1/notes",
    response_model=NotePublic,
    status_code=201,
    summary="Write a note on a visit, household or case",
    responses=problems(403, 404, 409, 422, texts=_TEXT),
)
async def create_note(
    body: NoteCreate, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> NotePublic:
    note = await service.create_note(session, principal, body.id, body)
    set_etag(response, note.version)
    response.headers["Location"] = f"/v1/notes/{note.id}"
    return note_public(note)


@router.get("/v1/notes/{note_id}", response_model=NotePublic, summary="One note", responses=problems(404, texts=_TEXT))
async def get_note(
    note_id: uuid.UUID, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> NotePublic:
    note = await service.get_note_or_404(session, principal, note_id)
    set_etag(response, note.version)
    return note_public(note)


@router.patch(
    "/v1/notes/{note_id}",
    response_model=NotePublic,
    summary="Edit your own note (If-Match required; the previous text is kept)",
    responses=problems(403, 404, 412, 422, 428, texts=_TEXT),
)
async def edit_note(
    note_id: uuid.UUID,
    body: NoteUpdate,
    request: Request,
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> NotePublic:
    if request.headers.get("if-match") is None:
        raise Problem(428, "precondition-required", "notes.if-match-required")
    current = await service.visible_note(session, principal, note_id)
    service.require_author(principal, current)
    check_if_match(request, current.version)
    note = await service.edit_note(session, principal, note_id, body)
    set_etag(response, note.version)
    return note_public(note)


@router.delete(
    "/v1/notes/{note_id}",
    status_code=204,
    summary="Delete your own note (a tombstone; the text stays in its history)",
    responses=problems(403, 404, 412, texts=_TEXT),
)
async def delete_note(
    note_id: uuid.UUID, request: Request, principal: gates.FieldStaff, session: SessionDep
) -> Response:
    current = await service.visible_note(session, principal, note_id)
    service.require_author(principal, current)
    check_if_match(request, current.version)
    await service.delete_note(session, principal, note_id)
    return Response(status_code=204)
