"""Destruction (파기) of personal data past its retention period (docs/operations.md, Retention).

A household closed longer than ``ONGI_RETENTION_CLOSED_DAYS`` loses, in one transaction: its head's name,
address, contact, members and living situation, its encrypted sensitive fields, the text of its notes (and
their revisions), its photos (rows, stored files, thumbnails and staged upload bytes), its checklist
responses (and their answer history), the free texts of its visits, cases, supports, monitoring plans,
consents, signals and crisis reports, and the phones' pushed values kept aside (sync conflicts). What
statistics need stays: district and dong codes, tags, risk level, priority, status, dates, and the rows
that count visits, cases and supports. A :class:`~app.lifecycle.models.DestructionRecord` says what went,
when, under which rule, by which job, with counts.

Photos and notes have their own (shorter) periods, ``ONGI_RETENTION_PHOTO_DAYS`` and
``ONGI_RETENTION_NOTE_DAYS``, counted from the same closure: past them only that kind goes.

Phones: the household's ``destroyed_at`` takes it out of every device's scope (app.sync.scope), and the
notes, photos and responses no longer exist, so the next pull sends ``revoke`` for each (as for a consent
withdrawn). Deleting rows through the ORM notes the change for sync.

Nothing survives in the files: SQLite connections run with ``PRAGMA secure_delete=ON`` (app.core.db), and
after a round the write-ahead log is checkpointed and truncated; on PostgreSQL a round ends with ``VACUUM``
of the tables it touched, so the dead tuples holding old values are reclaimed. A stored file is deleted
only when no photo that is kept refers to the same content (content addressed storage).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, CaseMember, CaseStageChange
from app.checklists.models import ChecklistAnswerHistory, ChecklistResponse
from app.core.db import utcnow
from app.core.state import AppState
from app.core.uow import open_session
from app.households.models import Consent, Household, HouseholdSensitive, HouseholdStatus, Signal
from app.journal import audit
from app.lifecycle.models import DestructionRecord
from app.media.models import Photo, Upload
from app.monitoring.models import MonitoringPlan
from app.notes.models import Note, NoteRevision
from app.reports.models import CrisisReport
from app.supports.models import Support, SupportHistory
from app.sync.models import SyncConflict, SyncMutation
from app.visits.models import Visit, VisitTransition

log = structlog.get_logger("ongi.lifecycle")

RULE_HOUSEHOLD = "household_closed"
RULE_PHOTOS = "photos_after_closure"
RULE_NOTES = "notes_after_closure"

#: Tables a destruction rewrites or deletes from (PostgreSQL: vacuumed after a round).
TOUCHED_TABLES = (
    "household",
    "household_sensitive",
    "note",
    "note_revision",
    "photo",
    "upload",
    "checklist_response",
    "checklist_answer_history",
    "visit",
    "visit_transition",
    "care_case",
    "case_member",
    "case_stage_change",
    "support",
    "support_history",
    "monitoring_plan",
    "consent",
    "signal",
    "crisis_report",
    "sync_conflict",
    "sync_mutation",
)


@dataclass
class Outcome:
    """What one destruction did: counts per kind, and the storage keys to delete once it committed."""

    counts: dict[str, int] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)

    def add(self, kind: str, n: int) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n


def _ids(rows: Any) -> list[uuid.UUID]:
    return [r for (r,) in rows]


async def _targets(session: AsyncSession, household_id: uuid.UUID) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    visits = _ids(await session.execute(select(Visit.id).where(Visit.household_id == household_id)))
    cases = _ids(await session.execute(select(Case.id).where(Case.household_id == household_id)))
    return visits, cases


async def _destroy_notes(
    session: AsyncSession, household_id: uuid.UUID, visits: list[uuid.UUID], cases: list[uuid.UUID], out: Outcome
) -> list[uuid.UUID]:
    targets = [Note.household_id == household_id]
    if visits:
        targets.append(Note.visit_id.in_(visits))
    if cases:
        targets.append(Note.case_id.in_(cases))
    notes = list((await session.execute(select(Note).where(or_(*targets)))).scalars())
    ids = [n.id for n in notes]
    if ids:
        result = await session.execute(delete(NoteRevision).where(NoteRevision.note_id.in_(ids)))
        out.add("note_revisions", int(result.rowcount or 0))
        for note in notes:
            await session.delete(note)  # through the ORM: noted for sync, so phones get a revoke
        await session.flush()
    out.add("notes", len(ids))
    return ids


async def _destroy_photos(session: AsyncSession, visits: list[uuid.UUID], out: Outcome) -> list[uuid.UUID]:
    if not visits:
        return []
    photos = list((await session.execute(select(Photo).where(Photo.visit_id.in_(visits)))).scalars())
    uploads = list((await session.execute(select(Upload).where(Upload.visit_id.in_(visits)))).scalars())
    ids = [p.id for p in photos]
    for photo in photos:
        await session.delete(photo)
    await session.flush()
    for upload in uploads:
        out.prefixes.add(f"uploads/{upload.id}/")
        for segment in upload.segments:
            key = segment.get("key")
            if isinstance(key, str):
                out.keys.add(key)
    if uploads:
        await session.execute(delete(Upload).where(Upload.id.in_([u.id for u in uploads])))
    # Content addressed: a file goes only when no photo kept elsewhere has the same content.
    for photo in photos:
        for key, sha, column in (
            (photo.storage_key, photo.sha256, Photo.sha256),
            (photo.thumbnail_key, photo.thumbnail_sha256, Photo.thumbnail_sha256),
        ):
            shared = (await session.execute(select(func.count()).select_from(Photo).where(column == sha))).scalar()
            if not shared:
                out.keys.add(key)
            else:
                out.add("files_kept_shared", 1)
    out.add("photos", len(ids))
    out.add("uploads", len(uploads))
    return ids


async def _destroy_responses(session: AsyncSession, visits: list[uuid.UUID], out: Outcome) -> list[uuid.UUID]:
    if not visits:
        return []
    responses = list(
        (await session.execute(select(ChecklistResponse).where(ChecklistResponse.visit_id.in_(visits)))).scalars()
    )
    ids = [r.id for r in responses]
    if ids:
        result = await session.execute(
            delete(ChecklistAnswerHistory).where(ChecklistAnswerHistory.response_id.in_(ids))
        )
        out.add("answer_history", int(result.rowcount or 0))
        for response in responses:
            await session.delete(response)
        await session.flush()
    out.add("checklist_responses", len(ids))
    return ids


async def _wipe_texts(
    session: AsyncSession, household: Household, visits: list[uuid.UUID], cases: list[uuid.UUID], out: Outcome
) -> None:
    """Free texts around the household, which may name or describe its people; the rows stay for counts."""
    hid = household.id
    for visit in (await session.execute(select(Visit).where(Visit.household_id == hid))).scalars():
        visit.outcome = None
        visit.cancel_reason = None
    if visits:
        await session.execute(
            update(VisitTransition).where(VisitTransition.visit_id.in_(visits)).values(note=None, location=None)
        )
    for case in (await session.execute(select(Case).where(Case.household_id == hid))).scalars():
        case.goals, case.summary, case.close_reason = [], None, None
    if cases:
        await session.execute(update(CaseStageChange).where(CaseStageChange.case_id.in_(cases)).values(reason=None))
        await session.execute(update(CaseMember).where(CaseMember.case_id.in_(cases)).values(role_note=None))
    supports = list((await session.execute(select(Support).where(Support.household_id == hid))).scalars())
    for support in supports:
        support.reason, support.decline_reason = None, None
    if supports:
        await session.execute(
            update(SupportHistory).where(SupportHistory.support_id.in_([s.id for s in supports])).values(reason=None)
        )
    await session.execute(update(MonitoringPlan).where(MonitoringPlan.household_id == hid).values(note=None))
    consents = list((await session.execute(select(Consent).where(Consent.household_id == hid))).scalars())
    for consent in consents:
        consent.given_by, consent.withdrawal_reason = "", None
    out.add("consents", len(consents))
    result = await session.execute(
        update(Signal).where(Signal.household_id == hid).values(details={}, external_ref=None)
    )
    out.add("signals", int(result.rowcount or 0))
    result = await session.execute(
        update(CrisisReport)
        .where(CrisisReport.household_id == hid)
        .values(
            observation="", address="", subject_name=None, subject_phone=None, outcome_message=None, dismiss_reason=None
        )
    )
    out.add("crisis_reports", int(result.rowcount or 0))
    out.add("visits", len(visits))
    out.add("cases", len(cases))
    out.add("supports", len(supports))


async def _forget_pushes(session: AsyncSession, ids: list[uuid.UUID], out: Outcome) -> None:
    """Values phones pushed for these records, kept aside or as results (sync's history)."""
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        result = await session.execute(delete(SyncConflict).where(SyncConflict.entity_id.in_(chunk)))
        out.add("sync_conflicts", int(result.rowcount or 0))
        await session.execute(update(SyncMutation).where(SyncMutation.entity_id.in_(chunk)).values(result={}))


async def destroy_household(session: AsyncSession, household: Household, out: Outcome, *, now: datetime) -> None:
    """Everything personal of ``household`` (the rule ``household_closed``)."""
    visits, cases = await _targets(session, household.id)
    notes = await _destroy_notes(session, household.id, visits, cases, out)
    photos = await _destroy_photos(session, visits, out)
    responses = await _destroy_responses(session, visits, out)
    await _wipe_texts(session, household, visits, cases, out)
    from app.consentforms.service import destroy_forms

    await destroy_forms(session, household.id, out)
    result = await session.execute(delete(HouseholdSensitive).where(HouseholdSensitive.household_id == household.id))
    out.add("sensitive_fields", int(result.rowcount or 0))
    out.add("members", len(household.members or []))
    await _forget_pushes(session, [household.id, *visits, *cases, *notes, *photos, *responses], out)
    household.head_name = ""
    household.address = ""
    household.address_detail = None
    household.contact_phone = None
    household.members = []
    household.living_situation = None
    household.match_key = None
    household.destroyed_at = now
    out.add("households", 1)
    await session.flush()


@dataclass(frozen=True)
class Rule:
    name: str
    days: int
    kinds: tuple[str, ...]


def rules(settings: Any) -> list[Rule]:
    return [
        Rule(
            RULE_HOUSEHOLD,
            settings.retention_closed_days,
            ("household", "contacts", "members", "sensitive", "notes", "photos", "checklist_responses", "texts"),
        ),
        Rule(RULE_PHOTOS, settings.retention_photo_days, ("photos",)),
        Rule(RULE_NOTES, settings.retention_note_days, ("notes",)),
    ]


def _closed_before(cutoff: datetime) -> Any:
    return (
        Household.status == HouseholdStatus.closed,
        Household.destroyed_at.is_(None),
        Household.status_changed_at.is_not(None),
        Household.status_changed_at < cutoff,
    )


async def _candidates(session: AsyncSession, rule: Rule, now: datetime, limit: int) -> list[uuid.UUID]:
    cutoff = now - timedelta(days=rule.days)
    stmt = select(Household.id).where(*_closed_before(cutoff))
    if rule.name == RULE_PHOTOS:
        stmt = stmt.where(
            select(Photo.id).join(Visit, Visit.id == Photo.visit_id).where(Visit.household_id == Household.id).exists()
        )
    elif rule.name == RULE_NOTES:
        visit_ids = select(Visit.id).where(Visit.household_id == Household.id)
        case_ids = select(Case.id).where(Case.household_id == Household.id)
        stmt = stmt.where(
            select(Note.id)
            .where(or_(Note.household_id == Household.id, Note.visit_id.in_(visit_ids), Note.case_id.in_(case_ids)))
            .exists()
        )
    return _ids(await session.execute(stmt.order_by(Household.status_changed_at, Household.id).limit(limit)))


async def _apply(session: AsyncSession, rule: Rule, household_id: uuid.UUID, now: datetime, job: str) -> Outcome | None:
    household = await session.get(Household, household_id, with_for_update=True)
    cutoff = now - timedelta(days=rule.days)
    if (
        household is None
        or household.destroyed_at is not None
        or household.status != HouseholdStatus.closed
        or household.status_changed_at is None
        or household.status_changed_at >= cutoff
    ):
        return None  # reopened or destroyed meanwhile
    out = Outcome()
    if rule.name == RULE_HOUSEHOLD:
        await destroy_household(session, household, out, now=now)
    else:
        visits, cases = await _targets(session, household.id)
        if rule.name == RULE_PHOTOS:
            ids = await _destroy_photos(session, visits, out)
        else:
            ids = await _destroy_notes(session, household.id, visits, cases, out)
        await _forget_pushes(session, ids, out)
    await audit.record(
        session,
        None,
        "household.destroy",
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        purpose=f"retention:{rule.name}",
        details={"rule": rule.name, "job": job, "days": rule.days},
    )
    session.add(
        DestructionRecord(
            household_id=household.id,
            district_code=household.district_code,
            dong_code=household.dong_code,
            rule=rule.name,
            retention_days=rule.days,
            closed_at=household.status_changed_at,
            kinds=list(rule.kinds),
            counts={**out.counts, "files": len(out.keys)},
            job=job,
            destroyed_at=now,
        )
    )
    return out


async def destroy_expired(state: AppState, *, job: str = "retention-destroy", now: datetime | None = None) -> int:
    """One round: every household past a rule's period, one transaction each; then their files, then the
    database's free space. Returns how many destructions were done."""
    from app.media.storage import get_storage

    now = now or utcnow()
    settings = state.settings
    storage = get_storage(state)
    done = 0
    for rule in rules(settings):
        async with open_session(state.sessionmaker, write=False) as session:
            ids = await _candidates(session, rule, now, settings.retention_batch)
        for household_id in ids:
            async with open_session(state.sessionmaker, write=True) as session:
                out = await _apply(session, rule, household_id, now, job)
            if out is None:
                continue
            done += 1
            for prefix in sorted(out.prefixes):
                await storage.delete_prefix(prefix)
            for key in sorted(out.keys):
                await storage.delete(key)
            log.info("destroyed", rule=rule.name, household_id=str(household_id), counts=out.counts)
    if done:
        await reclaim(state)
    return done


async def reclaim(state: AppState) -> bool:
    """Make the destroyed values unrecoverable from the database files: SQLite's write-ahead log is
    checkpointed and truncated (deleted content is already zeroed by ``secure_delete``); PostgreSQL's dead
    tuples are vacuumed."""
    engine = state.engine
    try:
        if state.settings.is_sqlite:
            async with engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                # TRUNCATE false: removing dead tuples needs no exclusive lock, whereas giving the file's empty
                # tail back to the system waits (5 s a table) for every open transaction on the table.
                await conn.execute(text("VACUUM (TRUNCATE false) " + ", ".join(TOUCHED_TABLES)))
    except Exception:  # the destruction stands; the space is reclaimed by the next round (or autovacuum)
        log.exception("reclaim_failed")
        return False
    return True
