"""Who sees and writes notes (``docs/access.md``).

* A note is seen by whoever sees its target (the visit, household or case); a partner only while consent
  covers the household (a note on a visit to a facility: the visit alone). A note marked ``internal`` is
  seen only within its author's organization. Tombstones are seen by nobody over REST.
* Coordinators, planners and partners write notes on targets they see; only the author edits or deletes.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access.policy import case_filter, household_filter, partner_reach, visit_filter
from app.cases.models import Case
from app.core.principal import Principal, Role
from app.households.models import Household
from app.notes.models import Note
from app.visits.models import Visit

NOTE_WRITERS = (Role.coordinator, Role.planner, Role.partner)
NOTE_READERS = NOTE_WRITERS


def may_write_notes(principal: Principal) -> bool:
    return principal.role in NOTE_WRITERS


def is_author(principal: Principal, note: Note) -> bool:
    """Only its author edits or deletes a note."""
    return note.author_id == principal.user_id


def on_household_itself() -> ColumnElement[bool]:
    """A note on the household itself (no visit, no case). One ``coalesce`` rather than two ``IS NULL`` terms, so
    that no planner reads the visit index for the NULLs (every household note of the district) instead of the
    household's."""
    return func.coalesce(col(Note.visit_id), col(Note.case_id)).is_(None)


def internal_seen_by(principal: Principal) -> ColumnElement[bool]:
    """A note marked ``internal`` is seen only within its author's organization."""
    return or_(col(Note.internal).is_(False), col(Note.author_organization_id) == principal.organization_id)


async def note_filter(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """SQL condition for the notes ``principal`` may see (for lists and sync scoping)."""
    if principal.role not in NOTE_READERS:
        return false()
    visits = select(col(Visit.id)).where(col(Visit.deleted_at).is_(None), visit_filter(principal))
    cases = select(col(Case.id)).where(col(Case.deleted_at).is_(None), case_filter(principal))
    households = select(col(Household.id)).where(
        col(Household.deleted_at).is_(None), await household_filter(session, principal)
    )
    visit_id, household_id, case_id = col(Note.visit_id), col(Note.household_id), col(Note.case_id)
    if principal.role == Role.partner:
        consented = list((await partner_reach(session, principal)).consented)
        visit_clause = and_(visit_id.in_(visits), or_(household_id.is_(None), household_id.in_(consented)))
        case_clause = case_id.in_(cases.where(col(Case.household_id).in_(consented)))
    else:
        visit_clause = visit_id.in_(visits)
        case_clause = case_id.in_(cases)
    household_clause = and_(on_household_itself(), household_id.in_(households))
    return and_(
        col(Note.deleted_at).is_(None), internal_seen_by(principal), or_(visit_clause, case_clause, household_clause)
    )


async def may_note_on_household(session: AsyncSession, principal: Principal, household_id: uuid.UUID | None) -> bool:
    """Whether a note on a target (a visit or case the caller sees) of this household is open to them: a
    partner also needs the household's consent (a visit to a facility has no household)."""
    if principal.role != Role.partner or household_id is None:
        return True
    return (await partner_reach(session, principal)).household_visible(household_id)
