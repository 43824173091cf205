"""Notes and their revisions (``docs/data-model.md``).

A note has exactly one target: a visit (``visit_id``; ``household_id`` then also holds the visit's
household, for scoping, sync and audit), a household (``household_id`` alone) or a case (``case_id``).
Edits and the delete keep the previous text in ``note_revision``; a delete leaves a tombstone
(``deleted_at``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Text
from sqlmodel import Field

from app.core.db import BaseTable, UTCDateTime, enum_type


class NoteKind(StrEnum):
    observation = "observation"
    consultation = "consultation"
    case_conference = "case_conference"


class Note(BaseTable, table=True):
    __tablename__ = "note"
    __sync_entity__ = "note"
    __table_args__ = (
        CheckConstraint(
            "(visit_id IS NOT NULL AND case_id IS NULL)"
            " OR (visit_id IS NULL AND case_id IS NOT NULL AND household_id IS NULL)"
            " OR (visit_id IS NULL AND case_id IS NULL AND household_id IS NOT NULL)",
            name="one_target",
        ),
        Index("ix_note_visit_created", "visit_id", "created_at"),
        Index("ix_note_household_created", "household_id", "created_at"),
        Index("ix_note_case_created", "case_id", "created_at"),
    )

    visit_id: uuid.UUID | None = Field(default=None, foreign_key="visit.id")
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id")
    case_id: uuid.UUID | None = Field(default=None, foreign_key="care_case.id")
    author_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    author_organization_id: uuid.UUID = Field(foreign_key="organization.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    kind: NoteKind = Field(default=NoteKind.observation, sa_type=enum_type(NoteKind, 32))
    #: Seen only within the author's organization.
    internal: bool = Field(default=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class NoteRevision(BaseTable, table=True):
    """The state of a note before an edit or the delete (who changed it, when, what it said), or a phone's
    edit that was not applied because the note had changed since (kept, never lost)."""

    __tablename__ = "note_revision"

    note_id: uuid.UUID = Field(foreign_key="note.id", index=True)
    #: The note's version that this revision preserves.
    note_version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    kind: NoteKind = Field(sa_type=enum_type(NoteKind, 32))
    internal: bool
    #: edit | delete (the state before it) | conflict (a phone's edit not applied, based on an older version)
    action: str = Field(max_length=16)
    changed_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    changed_at: datetime = Field(sa_type=UTCDateTime)
