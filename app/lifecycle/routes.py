"""``GET /v1/destructions``: the destruction records of the admin's jurisdiction, newest first (§3.6)."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import gates
from app.core.deps import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.journal import audit
from app.lifecycle.repository import DestructionRepository
from app.lifecycle.schemas import DestructionRecordPublic

router = APIRouter(tags=["lifecycle"])


@router.get(
    "/v1/destructions",
    response_model=Page[DestructionRecordPublic],
    summary="Destruction records of personal data past retention, in the admin's jurisdiction (newest first)",
    responses={
        401: {"description": "No valid token"},
        403: {"description": "Not an admin"},
        422: {"description": "Invalid cursor"},
    },
)
async def list_destructions(
    principal: gates.Admin, session: SessionDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[DestructionRecordPublic]:
    records = DestructionRepository(session)
    rows, next_cursor = await records.page(
        records.readable(principal), order=DestructionRepository.order, limit=limit, cursor=cursor, descending=True
    )
    await audit.record(
        session, principal, "destruction.list", entity="destruction_record", details={"count": len(rows)}
    )
    return Page(items=[DestructionRecordPublic.model_validate(r) for r in rows], next_cursor=next_cursor)
