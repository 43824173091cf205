"""``/v1/areas``: names of the districts and dongs of the caller's jurisdiction (shown in summaries and exports).

Staff read them; an admin names the areas within their own jurisdiction (DESIGN §3.5: never outside it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from app.access.policy import codes_clause, role_gate
from app.areas import messages as _messages  # noqa: F401  (registers the messages)
from app.areas.models import AdminArea
from app.areas.schemas import AreaNames, AreaPublic, AreasSaved
from app.areas.service import set_area_names
from app.audit import service as audit
from app.auth.models import Role
from app.auth.principal import Principal
from app.core.deps import SessionDep
from app.core.errors import Problem
from app.core.i18n import t
from app.core.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor, invalid_cursor

router = APIRouter(tags=["areas"])

Readers = Annotated[Principal, Depends(role_gate(Role.admin, Role.coordinator, Role.planner, Role.partner))]
Admin = Annotated[Principal, Depends(role_gate(Role.admin))]


@router.get("/v1/areas", response_model=Page[AreaPublic], summary="Names of the areas of the caller's jurisdiction")
async def list_areas(
    principal: Readers, session: SessionDep, limit: LimitQuery = 500, cursor: CursorQuery = None
) -> Page[AreaPublic]:
    stmt = select(AdminArea).where(codes_clause(AdminArea.code, principal.jurisdiction))
    if cursor:
        after = decode_cursor(cursor)
        if len(after) != 1 or not isinstance(after[0], str):
            raise invalid_cursor()
        stmt = stmt.where(AdminArea.code > after[0])
    rows = list((await session.execute(stmt.order_by(AdminArea.code).limit(limit + 1))).scalars())
    next_cursor = encode_cursor([rows[limit - 1].code]) if len(rows) > limit else None
    return Page(items=[AreaPublic.model_validate(a) for a in rows[:limit]], next_cursor=next_cursor)


@router.put(
    "/v1/areas",
    response_model=AreasSaved,
    summary="Name or rename areas within the admin's jurisdiction",
    responses={422: {"description": "A code outside the jurisdiction, or an invalid code or name"}},
)
async def put_areas(body: AreaNames, principal: Admin, session: SessionDep) -> AreasSaved:
    outside = sorted(code for code in body.names if not principal.in_jurisdiction(code))
    if outside:
        raise Problem(
            422,
            "validation",
            "detail.validation",
            params={"count": len(outside)},
            extra={
                "errors": [
                    {
                        "field": f"body.names.{code}",
                        "code": "value_error",
                        "message": t("areas.outside-jurisdiction", code=code),
                    }
                    for code in outside
                ]
            },
        )
    await set_area_names(session, dict(body.names))
    await audit.record(session, principal, "area.update", entity="area", details={"codes": sorted(body.names)})
    rows = await session.execute(select(AdminArea).where(AdminArea.code.in_(list(body.names))).order_by(AdminArea.code))
    return AreasSaved(saved=[AreaPublic.model_validate(a) for a in rows.scalars()])
