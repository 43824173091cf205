"""``/v1/households/{id}/contact-attempts``: record and list a household's contact attempts (DESIGN §11)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import and_, or_, select

from app.access.policy import get_household_or_404, role_gate
from app.auth.models import Role
from app.auth.principal import Principal
from app.contacts import service
from app.contacts.config import contact_settings
from app.contacts.models import ContactAttempt
from app.contacts.schemas import ContactAttemptCreate, ContactAttemptPublic, ContactAttemptRecorded
from app.core.deps import SessionDep, StateDep
from app.core.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor, invalid_cursor
from app.journal import audit

router = APIRouter(tags=["contacts"])

Visitors = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner))]

NOT_FOUND: dict[str, Any] = {"description": "No such household, or not one the caller may see"}


@router.post(
    "/v1/households/{household_id}/contact-attempts",
    response_model=ContactAttemptRecorded,
    status_code=201,
    summary="Record a contact attempt; after the configured number of failures the household is unreachable",
    responses={
        200: {
            "description": "The same attempt (same id and data) was recorded before",
            "model": ContactAttemptRecorded,
        },
        404: NOT_FOUND,
        409: {"description": "Another attempt has this id"},
        422: {"description": "Invalid input: `errors` lists each field"},
    },
)
async def create_attempt(
    household_id: uuid.UUID,
    body: ContactAttemptCreate,
    principal: Visitors,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> ContactAttemptRecorded:
    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    attempt, created = await service.record_attempt(
        session,
        principal,
        household,
        attempt_id=body.id,
        method=body.method.value,
        outcome=body.outcome.value,
        at=body.at,
        note=body.note,
        threshold=contact_settings(state).unreachable_after,
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/households/{household.id}/contact-attempts"
    return ContactAttemptRecorded(attempt=service.public(attempt), reachability=service.reachability(household))


@router.get(
    "/v1/households/{household_id}/contact-attempts",
    response_model=Page[ContactAttemptPublic],
    summary="A household's contact attempts, latest made first",
    responses={404: NOT_FOUND},
)
async def list_attempts(
    household_id: uuid.UUID,
    principal: Visitors,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ContactAttemptPublic]:
    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    stmt = select(ContactAttempt).where(ContactAttempt.household_id == household.id)
    if cursor:
        raw = decode_cursor(cursor)
        try:
            at, after = datetime.fromisoformat(raw[0]), uuid.UUID(raw[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
        stmt = stmt.where(or_(ContactAttempt.at < at, and_(ContactAttempt.at == at, ContactAttempt.id < after)))
    found = await session.execute(stmt.order_by(ContactAttempt.at.desc(), ContactAttempt.id.desc()).limit(limit + 1))
    rows = list(found.scalars())
    next_cursor = encode_cursor([rows[limit - 1].at, rows[limit - 1].id]) if len(rows) > limit else None
    rows = rows[:limit]
    await audit.record(
        session,
        principal,
        "contact_attempt.read",
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        details={"count": len(rows)},
    )
    return Page(items=[service.public(a) for a in rows], next_cursor=next_cursor)
