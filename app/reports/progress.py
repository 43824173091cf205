"""What a reporter is told of each report's progress (docs/data-model.md): ``received → visited → support_linked /
closed``, never anything about the household.

The progress is **computed on read** from the report and its linked household, so REST is always current:

* ``closed``: the report was dismissed, or the household's case was closed (status ``closed``);
* ``support_linked``: a support of the household was approved or provided since the report came in;
* ``visited``: a visit to the household was completed since the report came in;
* ``received``: anything else (new, or triaged and not visited yet).

It only moves forward (in that order, ``closed`` last): what the reporter was told is never taken back, so a
support declined afterwards leaves ``support_linked``.

Telling the reporter is **outbox-driven, via the worker** (job ``report-progress``): the events that can move a
report (``report.triaged``, ``visit.completed``, ``support.status_changed``) are read after the job's position
(``outbox_reader``), plus a sweep of reports whose household was closed (closing emits no event); every report
whose progress moved past what it was last told (``notified_progress``) is updated, emits
``report.status_changed`` and queues one notification for its reporter (``app.notify``; the key
``report:<id>:<progress>`` makes it once per report and progress, however many workers run).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.state import AppState
from app.core.times import local_date
from app.core.uow import open_session
from app.events.models import OutboxEvent
from app.households.models import Household, HouseholdStatus
from app.journal.outbox import emit
from app.notify.models import OutboxReader
from app.notify.service import enqueue
from app.reports.models import CrisisReport, ReportStatus
from app.supports.models import Support, SupportStatus
from app.visits.models import Visit, VisitStatus

Progress = Literal["received", "visited", "support_linked", "closed"]
ORDER: tuple[Progress, ...] = ("received", "visited", "support_linked", "closed")
RANK = {p: i for i, p in enumerate(ORDER)}
READER = "report-progress"
#: The events after which a report's progress may have moved.
EVENTS = ("report.triaged", "visit.completed", "support.status_changed")
BATCH = 500


def later(a: str, b: str) -> Progress:
    return ORDER[max(RANK.get(a, 0), RANK.get(b, 0))]


async def progress_of(session: AsyncSession, reports: Iterable[CrisisReport]) -> dict[uuid.UUID, Progress]:
    """The current progress of each report, in a few queries for all of them."""
    reports = list(reports)
    linked = [r for r in reports if r.status == ReportStatus.triaged and r.household_id is not None]
    households = list({r.household_id for r in linked if r.household_id is not None})
    closed: set[uuid.UUID] = set()
    supported: dict[uuid.UUID, list[datetime]] = {}
    visited: dict[uuid.UUID, list[datetime]] = {}
    for i in range(0, len(households), BATCH):
        chunk = households[i : i + BATCH]
        closed |= set(
            (
                await session.execute(
                    select(Household.id).where(Household.id.in_(chunk), Household.status == HouseholdStatus.closed)
                )
            ).scalars()
        )
        for hid, approved, provided in await session.execute(
            select(Support.household_id, Support.approved_at, Support.provided_at).where(
                Support.household_id.in_(chunk),
                Support.status.in_([SupportStatus.approved, SupportStatus.provided]),
                Support.deleted_at.is_(None),
            )
        ):
            supported.setdefault(hid, []).append(max(t for t in (approved, provided) if t is not None))
        for hid, at in await session.execute(
            select(Visit.household_id, Visit.checked_out_at).where(
                Visit.household_id.in_(chunk),
                Visit.status == VisitStatus.completed,
                Visit.deleted_at.is_(None),
                Visit.checked_out_at.is_not(None),
            )
        ):
            visited.setdefault(hid, []).append(at)
    out: dict[uuid.UUID, Progress] = {}
    for r in reports:
        current: Progress = "received"
        if r.status == ReportStatus.dismissed:
            current = "closed"
        elif r.status == ReportStatus.triaged and r.household_id is not None:
            since = r.created_at
            if r.household_id in closed:
                current = "closed"
            elif any(at >= since for at in supported.get(r.household_id, [])):
                current = "support_linked"
            elif any(at >= since for at in visited.get(r.household_id, [])):
                current = "visited"
        out[r.id] = later(current, r.notified_progress or "received")
    return out


async def _position(session: AsyncSession) -> OutboxReader:
    """The job's position, locked until commit: concurrent rounds (several workers) take turns."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(OutboxReader.__table__)
        .values(name=READER, position=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    reader = await session.get(OutboxReader, READER, with_for_update=True, populate_existing=True)
    assert reader is not None
    return reader


async def _touched(session: AsyncSession, after: int) -> tuple[int, set[uuid.UUID], set[uuid.UUID]]:
    """Events after ``after``: the position to move to, the reports and households they name. The newest
    ``seq`` is read first: numbers are given under a lock held until commit, so every lower one is visible."""
    top = (await session.execute(select(OutboxEvent.seq).order_by(OutboxEvent.seq.desc()).limit(1))).scalar() or 0
    rows = list(
        await session.execute(
            select(OutboxEvent.seq, OutboxEvent.type, OutboxEvent.household_id, OutboxEvent.payload)
            .where(OutboxEvent.seq > after, OutboxEvent.seq <= top, OutboxEvent.type.in_(EVENTS))
            .order_by(OutboxEvent.seq)
            .limit(BATCH)
        )
    )
    reports: set[uuid.UUID] = set()
    households: set[uuid.UUID] = set()
    for _seq, type_, household_id, payload in rows:
        if household_id is not None:
            households.add(household_id)
        if type_ == "report.triaged" and isinstance(payload, dict) and payload.get("report_id"):
            try:
                reports.add(uuid.UUID(str(payload["report_id"])))
            except ValueError:
                continue
    end = rows[-1][0] if len(rows) == BATCH else max(after, top)
    return end, reports, households


async def _advance(session: AsyncSession, reports: list[CrisisReport]) -> int:
    moved = 0
    now = utcnow()
    current = await progress_of(session, reports)
    for report in reports:
        progress = current[report.id]
        if progress == (report.notified_progress or "received"):
            continue
        previous = report.notified_progress
        report.notified_progress = progress
        report.notified_at = now
        emit(
            session,
            "report.status_changed",
            {"report_id": str(report.id), "status": progress, "previous": previous},
            household_id=report.household_id,
            district_code=report.district_code,
        )
        await enqueue(
            session,
            recipient_id=report.reporter_id,
            dedupe_key=f"report:{report.id}:{progress}",
            template=f"reports.notice.{progress}",
            params={"date": local_date(report.created_at).isoformat()},
        )
        moved += 1
    await session.flush()
    return moved


async def track_once(state: AppState) -> int:
    """One round of the ``report-progress`` job; returns how many reports moved (or events were read)."""
    async with open_session(state.sessionmaker, write=True) as session:
        reader = await _position(session)
        start = reader.position
        end, report_ids, household_ids = await _touched(session, start)
        conditions = []
        if report_ids:
            conditions.append(CrisisReport.id.in_(list(report_ids)))
        if household_ids:
            conditions.append(CrisisReport.household_id.in_(list(household_ids)))
        candidates: dict[uuid.UUID, CrisisReport] = {}
        for condition in conditions:
            for report in (await session.execute(select(CrisisReport).where(condition))).scalars():
                candidates[report.id] = report
        # closing a household emits no event: sweep the reports of closed households not yet told so
        swept = await session.execute(
            select(CrisisReport)
            .join(Household, Household.id == CrisisReport.household_id)
            .where(
                and_(
                    Household.status == HouseholdStatus.closed,
                    CrisisReport.status == ReportStatus.triaged,
                    CrisisReport.notified_progress != "closed",
                )
            )
            .limit(BATCH)
        )
        for report in swept.scalars():
            candidates[report.id] = report
        moved = await _advance(session, list(candidates.values()))
        if end != start:
            reader.position = end
            reader.updated_at = utcnow()
        return moved + (1 if end != start and (report_ids or household_ids) else 0)
