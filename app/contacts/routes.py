"""``/v1/households/{id}/contact-attempts``: record and list a household's contact attempts
(``docs/architecture.md``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from app.access import gates
from app.contacts import service
from app.contacts.config import contact_settings
from app.contacts.repository import ContactAttemptRepository
from app.contacts.schemas import ContactAttemptCreate, ContactAttemptPublic, ContactAttemptRecorded
from app.core.deps import SessionDep, StateDep
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.households.lookup import readable_household
from app.journal import audit

router = APIRouter(tags=["contacts"])

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
    principal: gates.FieldStaff,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> ContactAttemptRecorded:
    household = await readable_household(session, principal, household_id)
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
    principal: gates.FieldStaff,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ContactAttemptPublic]:
    household = await readable_household(session, principal, household_id)
    rows, next_cursor = await ContactAttemptRepository(session).latest_first(household.id, limit=limit, cursor=cursor)
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
