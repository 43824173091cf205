"""``/v1/areas``: names of the districts and dongs of the caller's jurisdiction (shown in summaries and exports).

Staff read them; an admin names the areas within their own jurisdiction (``docs/access.md``: never outside it).
"""

from __future__ import annotations

from fastapi import APIRouter

from app.access import gates
from app.areas.repository import AreaRepository
from app.areas.schemas import AreaNames, AreaPublic, AreasSaved
from app.areas.service import name_areas
from app.core.deps import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(tags=["areas"])


@router.get("/v1/areas", response_model=Page[AreaPublic], summary="Names of the areas of the caller's jurisdiction")
async def list_areas(
    principal: gates.Staff, session: SessionDep, limit: LimitQuery = 500, cursor: CursorQuery = None
) -> Page[AreaPublic]:
    rows, next_cursor = await AreaRepository(session).readable_page(principal, limit=limit, cursor=cursor)
    return Page(items=[AreaPublic.model_validate(a) for a in rows], next_cursor=next_cursor)


@router.put(
    "/v1/areas",
    response_model=AreasSaved,
    summary="Name or rename areas within the admin's jurisdiction",
    responses={422: {"description": "A code outside the jurisdiction, or an invalid code or name"}},
)
async def put_areas(body: AreaNames, principal: gates.Admin, session: SessionDep) -> AreasSaved:
    saved = await name_areas(session, principal, dict(body.names))
    return AreasSaved(saved=[AreaPublic.model_validate(a) for a in saved])
