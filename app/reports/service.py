"""Crisis reports: intake from reporters, triage by coordinators (docs/data-model.md).

A reporter creates reports in their organization's area and follows each one's status and the message
they are told; they never see which household a report led to. A coordinator triages a report into a
household (one they name, one found by address and name, or a new one; a signal of the report's source is
recorded each time, which may reopen a closed household) or dismisses it. ``report.triaged`` is emitted
either way.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import can_see_household
from app.access.reports import may_report_in
from app.core.db import utcnow
from app.core.errors import Conflict, FieldInvalid, field_problem
from app.core.i18n import t
from app.core.principal import Principal
from app.core.security import Security
from app.households import service as households
from app.households.matching import find_match, match_key
from app.households.models import Household
from app.households.schemas import HouseholdBrief, HouseholdInput
from app.journal import audit
from app.journal.outbox import emit
from app.reports import messages as _messages  # noqa: F401  (registers the messages)
from app.reports.models import CrisisReport, ReportStatus
from app.reports.schemas import (
    ReportCreate,
    ReporterReportPublic,
    ReportTriage,
    StaffReportPublic,
    TriageResult,
)


def reporter_view(report: CrisisReport, progress: str = "received") -> ReporterReportPublic:
    return ReporterReportPublic(
        id=report.id,
        version=report.version,
        status=report.status,
        observation=report.observation,
        address=report.address,
        dong_code=report.dong_code,
        subject_name=report.subject_name,
        subject_phone=report.subject_phone,
        indicators=list(report.indicators or []),
        observed_at=report.observed_at,
        source=report.source,
        outcome_message=report.outcome_message or t(f"reports.outcome.{report.status.value}"),
        progress=progress,  # type: ignore[arg-type]
        progress_label=t(f"reports.progress.{progress}"),
        decided_at=report.triaged_at,
        created_at=report.created_at,
    )


def staff_view(
    report: CrisisReport, suggested: Household | None = None, progress: str | None = None
) -> StaffReportPublic:
    return StaffReportPublic(
        id=report.id,
        version=report.version,
        status=report.status,
        reporter_id=report.reporter_id,
        reporter_organization_id=report.reporter_organization_id,
        observation=report.observation,
        address=report.address,
        district_code=report.district_code,
        dong_code=report.dong_code,
        subject_name=report.subject_name,
        subject_phone=report.subject_phone,
        indicators=list(report.indicators or []),
        observed_at=report.observed_at,
        source=report.source,
        household_id=report.household_id,
        triaged_by_id=report.triaged_by_id,
        triaged_at=report.triaged_at,
        outcome_message=report.outcome_message,
        dismiss_reason=report.dismiss_reason,
        progress=progress or report.notified_progress or "received",  # type: ignore[arg-type]
        notified_progress=report.notified_progress or "received",  # type: ignore[arg-type]
        suggested_household_id=suggested.id if suggested is not None else None,
        created_at=report.created_at,
        updated_at=report.updated_at,
    )


async def create_report(session: AsyncSession, principal: Principal, body: ReportCreate) -> CrisisReport:
    errors = []
    if not body.dong_code.startswith(body.district_code):
        errors.append(("body.dong_code", "households.codes-mismatch", {}))
    if not may_report_in(principal, body.dong_code):
        errors.append(("body.dong_code", "reports.outside-area", {}))
    if errors:
        raise FieldInvalid(errors)
    report = CrisisReport(
        reporter_id=principal.user_id,
        reporter_organization_id=principal.organization_id,
        observation=body.observation,
        address=body.address,
        district_code=body.district_code,
        dong_code=body.dong_code,
        subject_name=body.subject_name,
        subject_phone=body.subject_phone,
        indicators=list(body.indicators),
        observed_at=body.observed_at,
        source=body.source,
        status=ReportStatus.new,
    )
    session.add(report)
    await session.flush()
    await audit.record(session, principal, "report.create", entity="report", entity_id=report.id)
    return report


async def suggest_household(
    session: AsyncSession, principal: Principal, security: Security, report: CrisisReport
) -> Household | None:
    """A household of the coordinator's jurisdiction with the report's address and subject name."""
    if report.status != ReportStatus.new or not report.subject_name:
        return None
    key = match_key(security, report.address, None, report.subject_name)
    return await find_match(session, principal, key)


def _target(report: CrisisReport, body: ReportTriage) -> HouseholdInput:
    fix = body.household
    head_name = (fix.head_name if fix else None) or report.subject_name
    if not head_name:
        raise field_problem("body.household.head_name", "reports.head-name-required")
    district = (fix.district_code if fix else None) or report.district_code
    values = {
        "district_code": district,
        "dong_code": (fix.dong_code if fix else None) or report.dong_code,
        "address": (fix.address if fix else None) or report.address,
        "address_detail": fix.address_detail if fix else None,
        "head_name": head_name,
        "contact_phone": (fix.contact_phone if fix else None) or report.subject_phone,
        "members": [m.model_dump() for m in fix.members] if fix else [],
        "tags": list(fix.tags) if fix else [],
        "living_situation": fix.living_situation if fix else None,
    }
    try:
        return HouseholdInput.model_validate(values)
    except ValueError as exc:
        raise field_problem("body.household", "field.value_error", msg=str(exc)[:200]) from exc


async def triage_report(
    session: AsyncSession, principal: Principal, security: Security, report: CrisisReport, body: ReportTriage
) -> TriageResult:
    if report.status != ReportStatus.new:
        raise Conflict("report-closed", "reports.already-decided", params={"status": report.status.value})
    now = utcnow()
    outcome: Literal["created", "matched", "reopened", "dismissed"]
    household: Household | None = None
    if body.decision == "dismiss":
        if not body.reason:
            raise field_problem("body.reason", "reports.reason-required")
        report.status = ReportStatus.dismissed
        report.dismiss_reason = body.reason
        outcome = "dismissed"
    else:
        if body.household_id is not None and body.create_new:
            raise field_problem("body.create_new", "reports.household-conflict")
        signal_args = {
            "source": report.source,
            "indicators": list(report.indicators or []),
            "observed_at": report.observed_at or report.created_at,
            "external_ref": f"report:{report.id}",
            "details": {"report_id": str(report.id)},
        }
        if body.household_id is not None:
            household = await session.get(Household, body.household_id)
            if household is None or not await can_see_household(session, principal, household):
                raise field_problem("body.household_id", "reports.household-unknown")
            _, outcome = await households.add_signal(session, principal, household, **signal_args)  # type: ignore[arg-type]
        elif body.create_new:
            target = _target(report, body)
            households.check_jurisdiction(principal, target.dong_code, "body.household.dong_code")
            household = await households.new_household(
                session, principal, security, target, coordinator_id=principal.user_id
            )
            await households.add_signal(session, principal, household, quiet=True, **signal_args)  # type: ignore[arg-type]
            outcome = "created"
        else:
            target = _target(report, body)
            households.check_jurisdiction(principal, target.dong_code, "body.household.dong_code")
            result = await households.ingest_signal(
                session,
                principal,
                target=target,
                security=security,
                **signal_args,  # type: ignore[arg-type]
            )
            household, outcome = result.household, result.outcome
            if outcome == "created" and household.coordinator_id is None:
                household.coordinator_id = principal.user_id
        report.status = ReportStatus.triaged
        report.household_id = household.id
    report.triaged_by_id = principal.user_id
    report.triaged_at = now
    report.outcome_message = body.message
    await session.flush()
    emit(
        session,
        "report.triaged",
        {
            "report_id": str(report.id),
            "status": report.status.value,
            "outcome": outcome,
            "household_id": str(household.id) if household is not None else None,
        },
        household_id=household.id if household is not None else None,
        district_code=report.district_code,
    )
    await audit.record(
        session,
        principal,
        "report.triage",
        entity="report",
        entity_id=report.id,
        household_id=household.id if household is not None else None,
        details={"outcome": outcome},
    )
    return TriageResult(
        report=staff_view(report),
        outcome=outcome,
        household=HouseholdBrief.model_validate(household, from_attributes=True) if household is not None else None,
    )
