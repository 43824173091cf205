"""The queries of notes (``docs/architecture.md``, the query layer). Which notes a caller sees is
:func:`app.access.notes.note_filter`; a statement here takes it, never writes one."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Select, select

from app.care.models import Case
from app.core.repository import Repository
from app.notes.models import Note, NoteKind


class NoteRepository(Repository[Note]):
    model = Note

    def visible(self, visible: ColumnElement[bool]) -> Select[tuple[Note]]:
        return select(Note).where(visible)

    def listing(
        self,
        visible: ColumnElement[bool],
        *,
        visit_id: uuid.UUID | None = None,
        household_id: uuid.UUID | None = None,
        case_id: uuid.UUID | None = None,
        kind: NoteKind | None = None,
    ) -> Select[tuple[Note]]:
        """Visible notes, narrowed to one visit, household (its own notes and its visits'), case or kind."""
        stmt = self.visible(visible)
        if visit_id is not None:
            stmt = stmt.where(Note.visit_id == visit_id)
        if household_id is not None:
            stmt = stmt.where(Note.household_id == household_id)
        if case_id is not None:
            stmt = stmt.where(Note.case_id == case_id)
        if kind is not None:
            stmt = stmt.where(Note.kind == kind)
        return stmt

    async def visible_one(self, note_id: uuid.UUID, visible: ColumnElement[bool]) -> Note | None:
        return await self.one_or_none(self.visible(visible).where(Note.id == note_id))

    async def case_household(self, case_id: uuid.UUID) -> uuid.UUID | None:
        return await self.scalar(select(Case.household_id).where(Case.id == case_id))  # type: ignore[no-any-return]

    async def case_households(self, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        if not case_ids:
            return {}
        return dict(await self.rows(select(Case.id, Case.household_id).where(Case.id.in_(case_ids))))  # type: ignore[arg-type]
