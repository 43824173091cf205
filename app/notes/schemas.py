"""API shapes of notes (``docs/data-model.md``: ``id``, ``version``, ``visit_id`` / ``household_id`` / ``case_id``,
``author_id``, ``body``, ``kind``, ``internal``, ``created_at``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from app.notes.models import Note, NoteKind

Body = Annotated[str, StringConstraints(min_length=1, max_length=20000, strip_whitespace=True)]


class NoteCreate(BaseModel):
    """Exactly one target: a visit, a household or a case."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = Field(default=None, description="Client-chosen id (phones create notes offline)")
    visit_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    body: Body
    kind: NoteKind = NoteKind.observation
    internal: StrictBool = Field(default=False, description="Seen only within the author's organization")

    @model_validator(mode="after")
    def _one_target(self) -> NoteCreate:
        if sum(x is not None for x in (self.visit_id, self.household_id, self.case_id)) != 1:
            raise ValueError("exactly one of visit_id, household_id, case_id")
        return self


class NoteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Body | None = None
    kind: NoteKind | None = None
    internal: StrictBool | None = None


class NotePublic(BaseModel):
    id: uuid.UUID
    version: int
    visit_id: uuid.UUID | None
    household_id: uuid.UUID | None
    case_id: uuid.UUID | None
    author_id: uuid.UUID
    author_organization_id: uuid.UUID
    body: str
    kind: NoteKind
    internal: bool
    created_at: datetime
    updated_at: datetime


def note_data(note: Note) -> dict[str, Any]:
    """The note record as REST and sync serve it."""
    return {
        "id": note.id,
        "version": note.version,
        "visit_id": note.visit_id,
        "household_id": note.household_id,
        "case_id": note.case_id,
        "author_id": note.author_id,
        "author_organization_id": note.author_organization_id,
        "body": note.body,
        "kind": note.kind,
        "internal": note.internal,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


def note_public(note: Note) -> NotePublic:
    return NotePublic.model_validate(note_data(note))
