"""``/v1/supports`` and a household's support ledger ``/v1/households/{id}/ledger`` (``docs/care.md``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import gates
from app.access import supports as access
from app.access.supports import SupportView
from app.core.deps import SessionDep
from app.core.http import CASEWORK_TEXTS, check_if_match, problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.principal import Principal
from app.journal import audit
from app.supports import ledger
from app.supports import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.supports import service as supports
from app.supports.models import Support, SupportStatus
from app.supports.schemas import (
    SupportCreate,
    SupportHistoryPublic,
    SupportLedger,
    SupportPublic,
    SupportTransition,
    SupportUpdate,
)

router = APIRouter(tags=["care"])

_TEXT = CASEWORK_TEXTS


async def _support_out(
    session: AsyncSession, principal: Principal, support: Support, view: SupportView, response: Response
) -> SupportPublic:
    """One support as answered: its ETag and its public shape under the caller's view."""
    set_etag(response, support.version)
    return (await supports.to_public_many(session, principal, [support], view))[0]


@router.get(
    "/v1/supports",
    response_model=Page[SupportPublic],
    summary="Supports you may see (household policy; partners also their organization's)",
    responses=problems(403, texts=_TEXT),
)
async def list_supports(
    principal: gates.SupportReaders,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    status: Annotated[list[SupportStatus] | None, Query()] = None,
    resource_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
    provider_organization_id: uuid.UUID | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[SupportPublic]:
    view = await access.support_view(session, principal)
    rows, next_cursor = await supports.list_page(
        session,
        principal,
        view,
        household_id=household_id,
        status=status,
        resource_id=resource_id,
        case_id=case_id,
        visit_id=visit_id,
        provider_organization_id=provider_organization_id,
        limit=limit,
        cursor=cursor,
    )
    await audit.record_many(
        session,
        principal,
        "support.list",
        entity="support",
        items=[(s.id, s.household_id if view.household_visible(s) else None) for s in rows],
        purpose="service_linkage",
    )
    return Page(items=await supports.to_public_many(session, principal, rows, view), next_cursor=next_cursor)


@router.post(
    "/v1/supports",
    response_model=SupportPublic,
    status_code=201,
    summary="Propose a support: link a household to a resource",
    responses=problems(403, 404, 409, 422, texts=_TEXT),
)
async def create_support(
    body: SupportCreate, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> SupportPublic:
    support = await supports.create_support(session, principal, body)
    view = await access.support_view(session, principal)
    return await _support_out(session, principal, support, view, response)


@router.get(
    "/v1/households/{household_id}/ledger",
    response_model=SupportLedger,
    summary="The support ledger of a household: every support, public and private, with totals",
    description="Each support with its resource, provider, amount, period and status, the other entries of "
    "the same need whose periods overlap it, and totals by status, kind and need. Public staff see every "
    "support; a private partner only private resources (its own organization's, and every provider's under a "
    "consent for service_linkage). Staff only. Audited.",
    responses=problems(403, 404, texts=_TEXT),
)
async def support_ledger(
    household_id: uuid.UUID,
    principal: gates.FieldStaff,
    session: SessionDep,
    status: Annotated[list[SupportStatus] | None, Query()] = None,
) -> SupportLedger:
    return await ledger.ledger(session, principal, household_id, status)


@router.get(
    "/v1/supports/{support_id}",
    response_model=SupportPublic,
    summary="One support",
    responses=problems(403, 404, texts=_TEXT),
)
async def get_support(
    support_id: uuid.UUID, principal: gates.SupportReaders, session: SessionDep, response: Response
) -> SupportPublic:
    support, view = await supports.get_support_or_404(session, principal, support_id)
    await audit.record(
        session,
        principal,
        "support.read",
        entity="support",
        entity_id=support.id,
        household_id=support.household_id if view.household_visible(support) else None,
        purpose="service_linkage",
    )
    return await _support_out(session, principal, support, view, response)


@router.patch(
    "/v1/supports/{support_id}",
    response_model=SupportPublic,
    summary="Change amount, period or reason while proposed or requested",
    responses=problems(403, 404, 409, 412, 422, texts=_TEXT),
)
async def update_support(
    support_id: uuid.UUID,
    body: SupportUpdate,
    request: Request,
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> SupportPublic:
    support, view = await supports.get_support_or_404(session, principal, support_id)
    check_if_match(request, support.version)
    support = await supports.update_support(session, principal, support, view, body)
    return await _support_out(session, principal, support, view, response)


@router.post(
    "/v1/supports/{support_id}/transitions",
    response_model=SupportPublic,
    summary="Move a support: requested, approved (takes capacity), provided, declined",
    responses=problems(403, 404, 409, 412, 422, texts=_TEXT),
)
async def transition_support(
    support_id: uuid.UUID,
    body: SupportTransition,
    request: Request,
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> SupportPublic:
    support, view = await supports.get_support_or_404(session, principal, support_id)
    check_if_match(request, support.version)
    support = await supports.transition_support(session, principal, support, view, body)
    return await _support_out(session, principal, support, view, response)


@router.get(
    "/v1/supports/{support_id}/history",
    response_model=Page[SupportHistoryPublic],
    summary="Status history of a support (who, when, from, to), oldest first",
    responses=problems(403, 404, texts=_TEXT),
)
async def support_history(
    support_id: uuid.UUID,
    principal: gates.SupportReaders,
    session: SessionDep,
    limit: LimitQuery = 500,
    cursor: CursorQuery = None,
) -> Page[SupportHistoryPublic]:
    support, _view = await supports.get_support_or_404(session, principal, support_id)
    rows, next_cursor = await supports.history_page(session, support, limit=limit, cursor=cursor)
    return Page(items=[SupportHistoryPublic.model_validate(r) for r in rows], next_cursor=next_cursor)
