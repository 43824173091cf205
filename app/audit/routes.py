"""``/v1/audit-events`` and ``GET /v1/audit-reports/monthly`` for admins (DESIGN §3.4).

An admin sees the events of the organizations they manage (their own, and for an admin of a public
organization the private organizations working in its jurisdiction; see app.people.service).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from app.audit import messages as _messages  # noqa: F401  (registers the messages)
from app.audit import service
from app.audit.models import AuditEvent, AuditReviewSignOff
from app.audit.schemas import (
    AuditEventOut,
    MonthlyReport,
    MonthlyTotals,
    ReviewFlag,
    SignOff,
    SignOffIn,
    UserAccessSummary,
)
from app.auth.deps import AdminPrincipal
from app.auth.models import Organization, User
from app.core.db import begin_write, utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import Problem
from app.core.i18n import t
from app.core.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor, invalid_cursor
from app.people.service import manageable_orgs

router = APIRouter(tags=["audit"])


def _field_problem(field: str, key: str) -> Problem:
    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": 1},
        extra={"errors": [{"field": field, "code": "value_error", "message": t(key)}]},
    )


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
        raise _field_problem(field, "audit.bad-time") from exc
    if parsed.tzinfo is None:
        raise _field_problem(field, "audit.bad-time")
    return parsed


@router.get(
    "/v1/audit-events",
    response_model=Page[AuditEventOut],
    summary="Audit events of the organizations the admin manages (newest first)",
    responses={422: {"description": "Bad time bound"}},
)
async def list_audit_events(
    principal: AdminPrincipal,
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
) -> Page[AuditEventOut]:
    org_ids = [o.id for o in await manageable_orgs(session, principal)]
    stmt = select(AuditEvent).where(AuditEvent.organization_id.in_(org_ids))
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if household_id is not None:
        stmt = stmt.where(AuditEvent.household_id == household_id)
    if action is not None:
        if action.endswith("*"):
            stmt = stmt.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if result is not None:
        stmt = stmt.where(AuditEvent.result == result)
    tz = state.settings.tz
    start = _bound(from_, "query.from", end=False, tz=tz)
    end = _bound(to, "query.to", end=True, tz=tz)
    if start is not None:
        stmt = stmt.where(AuditEvent.at >= start)
    if end is not None:
        stmt = stmt.where(AuditEvent.at < end)
    if cursor:
        raw = decode_cursor(cursor)
        try:
            c_at, c_id = datetime.fromisoformat(raw[0]), uuid.UUID(raw[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
        stmt = stmt.where(or_(AuditEvent.at < c_at, and_(AuditEvent.at == c_at, AuditEvent.id < c_id)))
    rows = list(
        (await session.execute(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1))).scalars()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].at, rows[-1].id])
    await service.record(session, principal, "audit.event.read", entity="audit_event", details={"count": len(rows)})
    return Page(items=[AuditEventOut.model_validate(e) for e in rows], next_cursor=next_cursor)


MonthQuery = Annotated[
    str, Query(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM (service time zone)")
]
MonthPath = Annotated[str, Path(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM (service time zone)")]


def _period(month: str, tz: Any) -> tuple[datetime, datetime]:
    year, mon = int(month[:4]), int(month[5:])
    return datetime(year, mon, 1, tzinfo=tz), datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=tz)


async def _sign_off_of(session: Any, organization_id: uuid.UUID, month: str) -> SignOff | None:
    row = (
        await session.execute(
            select(AuditReviewSignOff, User.display_name)
            .join(User, User.id == AuditReviewSignOff.signed_by_id)
            .where(AuditReviewSignOff.organization_id == organization_id, AuditReviewSignOff.month == month)
        )
    ).first()
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
    users = (
        {u.id: u for u in (await session.execute(select(User).where(User.id.in_(list(actors))))).scalars()}
        if actors
        else {}
    )
    org_names = {o.id: o.name for o in orgs}
    extra_orgs = {u.organization_id for u in users.values()} - set(org_names)
    if extra_orgs:
        for o in (await session.execute(select(Organization).where(Organization.id.in_(extra_orgs)))).scalars():
            org_names[o.id] = o.name
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
    principal: AdminPrincipal, state: StateDep, session: SessionDep, month: MonthQuery
) -> MonthlyReport:
    report = await _report(session, state, principal, month)
    await service.record(session, principal, "audit.report.read", entity="audit_report", details={"month": month})
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
    principal: AdminPrincipal, state: StateDep, session: SessionDep, month: MonthPath, body: SignOffIn
) -> SignOff:
    _, end = _period(month, state.settings.tz)
    if end > utcnow():
        raise _field_problem("path.month", "audit.month-not-over")
    await begin_write(session)
    if await _sign_off_of(session, principal.organization_id, month) is not None:
        raise Problem(409, "conflict", "audit.signed-off")
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
        raise Problem(409, "conflict", "audit.signed-off") from exc
    await service.record(
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
