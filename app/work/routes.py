"""``GET /v1/workload`` and ``POST /v1/users/{id}/reassign`` (docs/operations.md, Work and reassignment)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from app.access import gates
from app.core.deps import SessionDep, StateDep
from app.core.tabular import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Column, negotiate, table_response
from app.core.times import IsoDay
from app.work import service
from app.work.schemas import Reassign, Reassigned, Workload

router = APIRouter(tags=["work"])

_PROBLEM = {"content": {"application/problem+json": {}}}

WORKLOAD_COLUMNS = [
    Column("date", "날짜 (date)"),
    Column("worker", "담당자 (worker)"),
    Column("organization", "기관 (organization)"),
    Column("role", "역할 (role)"),
    Column("visits", "방문 (visits)"),
    Column("cases", "사례 (cases)"),
    Column("monitoring", "모니터링 (monitoring)"),
    Column("tasks", "과업 (tasks)"),
    Column("total", "합계 (total)"),
    Column("active", "활성 (active)"),
    Column("user_id", "사용자 ID (user_id)"),
]


def _wants_table(fmt: str | None, accept: str | None) -> str | None:
    """CSV or XLSX when ``format`` or ``Accept`` asks for one of them by name; else JSON (None)."""
    if fmt is not None:
        return fmt
    accept = (accept or "").lower()
    if "text/csv" not in accept and XLSX_MEDIA_TYPE not in accept:
        return None
    return negotiate(None, accept, offers=("csv", "xlsx"))


@router.get(
    "/v1/workload",
    response_model=Workload,
    response_model_by_alias=True,
    summary="Open visits, cases, tasks and monitoring plans per worker per day, in your jurisdiction",
    description="Every worker who may take work in your jurisdiction, and anyone else holding open work there. "
    "Items due before `from` are counted in `earlier`, after `to` in `later`; cases past planning have no day "
    "(`undated`). CSV or XLSX (one row per worker and day) with `format` or `Accept`.",
    responses={
        200: {"content": {CSV_MEDIA_TYPE.split(";")[0]: {}, XLSX_MEDIA_TYPE: {}}},
        403: {"description": "Not a coordinator", **_PROBLEM},
        406: {"description": "Accept names no format offered", **_PROBLEM},
        422: {"description": "Invalid span or a code outside your jurisdiction", **_PROBLEM},
    },
)
async def get_workload(
    request: Request,
    principal: gates.Coordinator,
    state: StateDep,
    session: SessionDep,
    from_: Annotated[IsoDay | None, Query(alias="from", description="First day (default today)")] = None,
    to: Annotated[IsoDay | None, Query(description="Last day (default 13 days after `from`; at most 62 days)")] = None,
    dong_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$", description="A district or dong of yours")] = None,
    format: Annotated[Literal["csv", "xlsx"] | None, Query(description="A table instead of JSON")] = None,
) -> Any:
    fmt = _wants_table(format, request.headers.get("accept"))
    load = await service.workload(session, principal, from_, to, dong_code=dong_code)
    if fmt is None:
        return JSONResponse(load.model_dump(mode="json", by_alias=True), headers={"Cache-Control": "no-store"})
    rows = service.workload_rows(load)
    return table_response(
        fmt,
        WORKLOAD_COLUMNS,
        [rows],
        filename=f"ongi-workload-{load.from_.isoformat()}",
        tz=state.settings.tz,
        sheet="workload",
    )


@router.post(
    "/v1/users/{user_id}/reassign",
    response_model=Reassigned,
    summary="Move a worker's open work to one or several others (balanced), in one transaction",
    description="All of the user's open work within your jurisdiction, or some `kinds`, or what falls due on or "
    "after `from`. One household's work stays together, going to the receiver with the least open work who may "
    "take it. Phones converge on their next pull: the user's revokes what moved, the receivers' get it. Each "
    "moved item emits `work.reassigned` and is audited. 409 `reassign-unplaced` (nothing moved) when some item "
    "fits no receiver.",
    responses={
        403: {"description": "Not a coordinator", **_PROBLEM},
        404: {"description": "No such user in your jurisdiction", **_PROBLEM},
        409: {"description": "reassign-unplaced: items none of the receivers may take (`unplaced`)", **_PROBLEM},
        422: {"description": "Invalid receivers or kinds (field errors)", **_PROBLEM},
    },
)
async def reassign(user_id: uuid.UUID, body: Reassign, principal: gates.Coordinator, session: SessionDep) -> Reassigned:
    return await service.reassign(session, principal, user_id, body)
