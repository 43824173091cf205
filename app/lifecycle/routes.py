"""``GET /v1/destructions``: the destruction records of the admin's jurisdiction, newest first (§3.6)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import and_, or_, select

from app.access.policy import codes_clause
from app.audit import service as audit
from app.auth.deps import AdminPrincipal
from app.core.deps import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor, invalid_cursor
from app.lifecycle.models import DestructionRecord
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
    principal: AdminPrincipal, session: SessionDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[DestructionRecordPublic]:
    stmt = select(DestructionRecord).where(codes_clause(DestructionRecord.dong_code, principal.jurisdiction))
    if cursor:
        raw = decode_cursor(cursor)
        try:
            c_at, c_id = datetime.fromisoformat(raw[0]), uuid.UUID(raw[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
        stmt = stmt.where(
            or_(
                DestructionRecord.destroyed_at < c_at,
                and_(DestructionRecord.destroyed_at == c_at, DestructionRecord.id < c_id),
            )
        )
    stmt = stmt.order_by(DestructionRecord.destroyed_at.desc(), DestructionRecord.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].destroyed_at, rows[-1].id])
    await audit.record(
        session, principal, "destruction.list", entity="destruction_record", details={"count": len(rows)}
    )
    return Page(items=[DestructionRecordPublic.model_validate(r) for r in rows], next_cursor=next_cursor)
