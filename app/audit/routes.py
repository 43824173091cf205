"""``/v1/audit-events`` and ``GET /v1/audit-reports/monthly`` for admins (docs/access.md, Audit).

An admin sees the events of the organizations they manage (their own, and for an admin of a public
organization the private organizations working in its jurisdiction; see app.people.service).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy.exc import IntegrityError

from app.access import audit as access
from app.access import gates
from app.audit import messages as _messages  # noqa: F401  (registers the messages)
from app.audit import service
from app.audit.models import AuditReviewSignOff
from app.audit.repository import AuditRepository
from app.audit.schemas import (
    AuditEventPublic,
    MonthlyReport,
    MonthlyTotals,
    ReviewFlag,
    SignOff,
    SignOffCreate,
    UserAccessSummary,
)
from app.core.db import utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import Conflict, FieldInvalid
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.uow import begin_write
from app.journal import audit
from app.people.service import manageable_orgs

router = APIRouter(tags=["audit"])


#: What ``from`` and ``to`` take, as the document says it (any other text answers 422).
_DAY_OR_TIME: dict[str, Any] = {
    "json_schema_extra": {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time", "maxLength": 40}]
    }
}


def _bound(value: str | None, field: str, *, end: bool, tz: Any) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + (timedelta(days=1) if end else timedelta())
            return datetime.combine(day, time.min, tzinfo=tz)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FieldInvalid.one(field, "audit.bad-time") from exc
    if parsed.tzinfo is None:
        raise FieldInvalid.one(field, "audit.bad-time")
    return parsed


@router.get(
    "/v1/audit-events",
    response_model=Page[AuditEventPublic],
    summary="Audit events of the organizations the admin manages (newest first)",
    responses={422: {"description": "Bad time bound"}},
)
async def list_audit_events(
    principal: gates.Admin,
    state: StateDep,
    session: SessionDep,
    actor_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    action: Annotated[
        str | None, Query(max_length=64, pattern=r"^[a-z0-9_.]+\*?$", description="Exact, or a prefix ending in *")
    ] = None,
    result: Annotated[str | None, Query(max_length=32)] = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=40, description="Date (local) or date-time", **_DAY_OR_TIME)
    ] = None,
    to: Annotated[
        str | None, Query(max_length=40, description="Date (local, inclusive) or date-time", **_DAY_OR_TIME)
    ] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[AuditEventPublic]:
    org_ids = [o.id for o in await manageable_orgs(session, principal)]
    tz = state.settings.tz
    start = _bound(from_, "query.from", end=False, tz=tz)
    end = _bound(to, "query.to", end=True, tz=tz)
    events = AuditRepository(session)
    stmt = events.events(
        access.audit_event_filter(org_ids),
        actor_id=actor_id,
        household_id=household_id,
        action=action,
        result=result,
        start=start,
        end=end,
    )
    rows, next_cursor = await events.page(
        stmt, order=AuditRepository.order, limit=limit, cursor=cursor, descending=True
    )
    await audit.record(session, principal, "audit.event.read", entity="audit_event", details={"count": len(rows)})
    return Page(items=[AuditEventPublic.model_validate(e) for e in rows], next_cursor=next_cursor)


MonthQuery = Annotated[
    str, Query(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM (service time zone)")
]
MonthPath = Annotated[str, Path(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM (service time zone)")]


def _period(month: str, tz: Any) -> tuple[datetime, datetime]:
    year, mon = int(month[:4]), int(month[5:])
    return datetime(year, mon, 1, tzinfo=tz), datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=tz)


async def _sign_off_of(session: Any, organization_id: uuid.UUID, month: str) -> SignOff | None:
    row = await AuditRepository(session).sign_off(organization_id, month)
    if row is None:
        return None
    signed, name = row
    return SignOff(
        month=signed.month,
        organization_id=signed.organization_id,
        signed_by_id=signed.signed_by_id,
        signed_by_name=name,
        signed_at=signed.signed_at,
        comment=signed.comment,
        flag_counts=signed.flag_counts,
    )


async def _report(session: Any, state: Any, principal: Any, month: str) -> MonthlyReport:
    settings = state.settings
    tz = settings.tz
    start, end = _period(month, tz)
    orgs = await manageable_orgs(session, principal)
    org_ids = [o.id for o in orgs]
    summary = await service.monthly_summary(session, org_ids, start, end)
    flags = await service.review_flags(session, org_ids, start, end, settings, summary)
    actors = set(summary) | {f["user_id"] for f in flags}
    repository = AuditRepository(session)
    users = await repository.users(actors)
    org_names = {o.id: o.name for o in orgs}
    org_names.update(await repository.organization_names({u.organization_id for u in users.values()} - set(org_names)))
    rows = []
    for actor, e in summary.items():
        user = users.get(actor)
        rows.append(
            UserAccessSummary(
                user_id=actor,
                username=user.username if user else None,
                display_name=user.display_name if user else None,
                role=user.role.value if user else None,
                organization_id=user.organization_id if user else None,
                organization_name=org_names.get(user.organization_id) if user else None,
                **e,
            )
        )
    rows.sort(key=lambda r: (-(r.household_reads + r.household_writes + r.reveals), r.username or ""))
    return MonthlyReport(
        month=month,
        timezone=settings.timezone,
        period_start=start,
        period_end=end,
        users=rows,
        totals=MonthlyTotals(
            users=len(rows),
            household_reads=sum(r.household_reads for r in rows),
            household_writes=sum(r.household_writes for r in rows),
            reveals=sum(r.reveals for r in rows),
            denied=sum(r.denied for r in rows),
        ),
        flags=[
            ReviewFlag(**f, username=users[f["user_id"]].username if f["user_id"] in users else None) for f in flags
        ],
        working_hours=f"{settings.review_work_start_hour:02d}:00-{settings.review_work_end_hour:02d}:00 Mon-Fri",
        sign_off=await _sign_off_of(session, principal.organization_id, month),
    )


@router.get(
    "/v1/audit-reports/monthly",
    response_model=MonthlyReport,
    summary="Monthly access review: per user, household reads, writes, reveals and denied attempts; flags; sign-off",
)
async def monthly_report(
    principal: gates.Admin, state: StateDep, session: SessionDep, month: MonthQuery
) -> MonthlyReport:
    report = await _report(session, state, principal, month)
    await audit.record(session, principal, "audit.report.read", entity="audit_report", details={"month": month})
    return report


@router.post(
    "/v1/audit-reports/monthly/{month}/sign-off",
    response_model=SignOff,
    status_code=201,
    summary="Sign off a month's access review for the admin's organization (once)",
    responses={
        401: {"description": "No valid token"},
        403: {"description": "Not an admin"},
        409: {"description": "This month was signed off already"},
        422: {"description": "Bad month (or one not over yet) or comment"},
    },
)
async def sign_off(
    principal: gates.Admin, state: StateDep, session: SessionDep, month: MonthPath, body: SignOffCreate
) -> SignOff:
    _, end = _period(month, state.settings.tz)
    if end > utcnow():
        raise FieldInvalid.one("path.month", "audit.month-not-over")
    await begin_write(session)
    if await _sign_off_of(session, principal.organization_id, month) is not None:
        raise Conflict("conflict", "audit.signed-off")
    report = await _report(session, state, principal, month)
    counts: dict[str, int] = {}
    for flag in report.flags:
        counts[flag.kind] = counts.get(flag.kind, 0) + 1
    signed = AuditReviewSignOff(
        organization_id=principal.organization_id,
        month=month,
        signed_by_id=principal.user_id,
        comment=body.comment.strip(),
        flag_counts=counts,
    )
    try:
        async with session.begin_nested():
            session.add(signed)
            await session.flush()
    except IntegrityError as exc:  # a concurrent sign-off won
        raise Conflict("conflict", "audit.signed-off") from exc
    await audit.record(
        session,
        principal,
        "audit.report.sign_off",
        entity="audit_report",
        entity_id=signed.id,
        details={"month": month, "flags": counts},
    )
    out = await _sign_off_of(session, principal.organization_id, month)
    assert out is not None
    return out
