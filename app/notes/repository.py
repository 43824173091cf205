"""The queries of notes (``docs/architecture.md``, the query layer). Which notes a caller sees is
:func:`app.access.notes.note_filter`; a statement here takes it, never writes one."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlmodel import col

from app.cases.models import Case
from app.core.repository import Repository
from app.notes.models import Note, NoteKind


class NoteRepository(Repository[Note]):
    model = Note

    def visible(self, visible: ColumnElement[bool]) -> Select[Any]:
        return select(Note).where(visible)

    def listing(
        self,
        visible: ColumnElement[bool],
        *,
        visit_id: uuid.UUID | None = None,
        household_id: uuid.UUID | None = None,
        case_id: uuid.UUID | None = None,
        kind: NoteKind | None = None,
    ) -> Select[Any]:
        """Visible notes, narrowed to one visit, household (its own notes and its visits'), case or kind."""
        stmt = self.visible(visible)
        if visit_id is not None:
            stmt = stmt.where(col(Note.visit_id) == visit_id)
        if household_id is not None:
            stmt = stmt.where(col(Note.household_id) == household_id)
        if case_id is not None:
            stmt = stmt.where(col(Note.case_id) == case_id)
        if kind is not None:
            stmt = stmt.where(col(Note.kind) == kind)
        return stmt

    async def visible_one(self, note_id: uuid.UUID, visible: ColumnElement[bool]) -> Note | None:
        found: Note | None = await self.one_or_none(self.visible(visible).where(col(Note.id) == note_id))
        return found

    async def case_household(self, case_id: uuid.UUID) -> uuid.UUID | None:
        return await self.scalar(select(col(Case.household_id)).where(col(Case.id) == case_id))  # type: ignore[no-any-return]

    async def case_households(self, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        if not case_ids:
            return {}
        return dict(await self.rows(select(col(Case.id), col(Case.household_id)).where(col(Case.id).in_(case_ids))))  # type: ignore[arg-type]
