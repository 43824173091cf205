"""``/v1/cases``: integrated case management, teams and stage history (``docs/care.md``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import gates, policy
from app.cases import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.cases import service as cases
from app.cases.models import Case, CaseStage
from app.cases.schemas import (
    CaseCreate,
    CaseMemberCreate,
    CasePublic,
    CaseStageChangePublic,
    CaseTransition,
    CaseUpdate,
)
from app.core.deps import SessionDep
from app.core.http import CASEWORK_TEXTS, check_if_match, problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.principal import Principal
from app.journal import audit

router = APIRouter(tags=["care"])

_TEXT = CASEWORK_TEXTS


async def _case_out(session: AsyncSession, principal: Principal, case: Case, response: Response) -> CasePublic:
    """One case as answered: its ETag and its public shape."""
    set_etag(response, case.version)
    return (await cases.to_public_many(session, principal, [case]))[0]


@router.get(
    "/v1/cases",
    response_model=Page[CasePublic],
    summary="Integrated cases you may see (`overdue=true`: a step past its due date)",
    responses=problems(403, texts=_TEXT),
)
async def list_cases(
    principal: gates.FieldStaff,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    stage: Annotated[list[CaseStage] | None, Query()] = None,
    manager: Annotated[str | None, Query(description="`me` or a user id", max_length=40)] = None,
    overdue: bool | None = None,
    open: Annotated[bool | None, Query(description="Open (not closed) cases only, or closed only")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[CasePublic]:
    rows, next_cursor = await cases.list_page(
        session,
        principal,
        household_id=household_id,
        stage=stage,
        manager=manager,
        overdue=overdue,
        open=open,
        limit=limit,
        cursor=cursor,
    )
    await audit.record_many(
        session,
        principal,
        "case.list",
        entity="case",
        items=[(c.id, c.household_id) for c in rows],
        purpose="case_management",
    )
    return Page(items=await cases.to_public_many(session, principal, rows), next_cursor=next_cursor)


@router.post(
    "/v1/cases",
    response_model=CasePublic,
    status_code=201,
    summary="Open an integrated case for a household (coordinators, planners)",
    responses=problems(403, 404, 409, 422, texts=_TEXT),
)
async def create_case(
    body: CaseCreate, principal: gates.PublicStaff, session: SessionDep, response: Response
) -> CasePublic:
    case = await cases.create_case(session, principal, body)
    return await _case_out(session, principal, case, response)


@router.get(
    "/v1/cases/{case_id}",
    response_model=CasePublic,
    summary="One case, with team and due dates",
    responses=problems(403, 404, texts=_TEXT),
)
async def get_case(
    case_id: uuid.UUID, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> CasePublic:
    case = await policy.get_case_or_404(session, principal, case_id)
    await audit.record(
        session,
        principal,
        "case.read",
        entity="case",
        entity_id=case.id,
        household_id=case.household_id,
        purpose="case_management",
    )
    return await _case_out(session, principal, case, response)


@router.patch(
    "/v1/cases/{case_id}",
    response_model=CasePublic,
    summary="Change goals, summary or manager (the manager or a coordinator)",
    responses=problems(403, 404, 412, 422, texts=_TEXT),
)
async def update_case(
    case_id: uuid.UUID,
    body: CaseUpdate,
    request: Request,
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> CasePublic:
    case = await policy.get_case_or_404(session, principal, case_id)
    check_if_match(request, case.version)
    case = await cases.update_case(session, principal, case, body)
    return await _case_out(session, principal, case, response)


@router.post(
    "/v1/cases/{case_id}/transitions",
    response_model=CasePublic,
    summary="Move a case to another stage (409 lists the allowed ones)",
    responses=problems(403, 404, 409, 412, 422, texts=_TEXT),
)
async def transition_case(
    case_id: uuid.UUID,
    body: CaseTransition,
    request: Request,
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> CasePublic:
    case = await policy.get_case_or_404(session, principal, case_id)
    check_if_match(request, case.version)
    case = await cases.transition_case(session, principal, case, body)
    return await _case_out(session, principal, case, response)


@router.get(
    "/v1/cases/{case_id}/history",
    response_model=Page[CaseStageChangePublic],
    summary="Stage history of a case, oldest first",
    responses=problems(403, 404, texts=_TEXT),
)
async def case_history(
    case_id: uuid.UUID,
    principal: gates.FieldStaff,
    session: SessionDep,
    limit: LimitQuery = 500,
    cursor: CursorQuery = None,
) -> Page[CaseStageChangePublic]:
    case = await policy.get_case_or_404(session, principal, case_id)
    rows, next_cursor = await cases.history_page(session, case, limit=limit, cursor=cursor)
    return Page(items=[CaseStageChangePublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/v1/cases/{case_id}/members",
    response_model=CasePublic,
    summary="Add a member to a case's team (public staff or a partner)",
    responses=problems(403, 404, 409, 422, texts=_TEXT),
)
async def add_case_member(
    case_id: uuid.UUID, body: CaseMemberCreate, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> CasePublic:
    case = await policy.get_case_or_404(session, principal, case_id)
    case = await cases.add_member(session, principal, case, body)
    return await _case_out(session, principal, case, response)


@router.delete(
    "/v1/cases/{case_id}/members/{user_id}",
    response_model=CasePublic,
    summary="End a member's place on a case's team (the row is kept with ended_at)",
    responses=problems(403, 404, 422, texts=_TEXT),
)
async def end_case_member(
    case_id: uuid.UUID, user_id: uuid.UUID, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> CasePublic:
    case = await policy.get_case_or_404(session, principal, case_id)
    case = await cases.end_member(session, principal, case, user_id)
    return await _case_out(session, principal, case, response)
