"""``/v1/reports``: reporters create and follow their own; coordinators triage (``docs/architecture.md``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.access import gates, policy
from app.access.reports import reads_as_reporter
from app.core.deps import SessionDep, StateDep
from app.core.http import check_if_match, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.journal import audit
from app.reports import service
from app.reports.models import ReportStatus
from app.reports.progress import progress_of
from app.reports.repository import ReportRepository
from app.reports.schemas import ReportCreate, ReporterReportPublic, ReportTriage, ReportView, TriageResult

router = APIRouter(tags=["reports"])

NOT_FOUND: dict[str, Any] = {"description": "No such report, or not one the caller may see"}


@router.post(
    "/v1/reports",
    response_model=ReporterReportPublic,
    status_code=201,
    summary="Report a household in crisis (reporters)",
    responses={422: {"description": "Invalid input, or a dong outside the reporter's area"}},
)
async def create_report(
    body: ReportCreate, principal: gates.Reporter, session: SessionDep, response: Response
) -> ReporterReportPublic:
    report = await service.create_report(session, principal, body)
    set_etag(response, report.version)
    response.headers["Location"] = f"/v1/reports/{report.id}"
    return service.reporter_view(report)


@router.get(
    "/v1/reports",
    response_model=Page[ReportView],
    summary="Reports: a reporter's own (status, progress and outcome only), or those of the jurisdiction for staff",
)
async def list_reports(
    principal: gates.ReportReaders,
    session: SessionDep,
    status: ReportStatus | None = None,
    dong_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[Any]:
    repository = ReportRepository(session)
    stmt = repository.listing(policy.report_filter(principal), status=status, dong_code=dong_code)
    rows, next_cursor = await repository.newest_first(stmt, limit=limit, cursor=cursor)
    progress = await progress_of(session, rows)
    if reads_as_reporter(principal):
        return Page(items=[service.reporter_view(r, progress[r.id]) for r in rows], next_cursor=next_cursor)
    await audit.record_many(
        session, principal, "report.read", entity="report", items=[(r.id, r.household_id) for r in rows]
    )
    return Page(items=[service.staff_view(r, progress=progress[r.id]) for r in rows], next_cursor=next_cursor)


@router.get(
    "/v1/reports/{report_id}",
    response_model=ReportView,
    summary="One report (staff also get a suggested household with the same address and name)",
    responses={404: NOT_FOUND},
)
async def get_report(
    report_id: uuid.UUID, principal: gates.ReportReaders, state: StateDep, session: SessionDep, response: Response
) -> Any:
    report = await policy.get_report_or_404(session, principal, report_id)
    set_etag(response, report.version)
    progress = (await progress_of(session, [report]))[report.id]
    if reads_as_reporter(principal):
        return service.reporter_view(report, progress)
    suggested = await service.suggest_household(session, principal, state.security, report)
    await audit.record(
        session,
        principal,
        "report.read",
        entity="report",
        entity_id=report.id,
        household_id=report.household_id,
        details={"suggested": suggested is not None},
    )
    return service.staff_view(report, suggested, progress)


@router.post(
    "/v1/reports/{report_id}/triage",
    response_model=TriageResult,
    summary="Triage a report into a household (given, matched or new) or dismiss it",
    responses={
        404: NOT_FOUND,
        409: {"description": "The report was already triaged or dismissed"},
        412: {"description": "If-Match names another version"},
        422: {"description": "Invalid input: `errors` lists each field"},
    },
)
async def triage_report(
    report_id: uuid.UUID,
    body: ReportTriage,
    request: Request,
    principal: gates.Coordinator,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> TriageResult:
    report = await policy.get_report_or_404(session, principal, report_id)
    check_if_match(request, report.version)
    result = await service.triage_report(session, principal, state.security, report, body)
    set_etag(response, report.version)
    return result
