"""The ``households`` export: households as REST lists them for the caller (never a registration number nor
another sensitive field)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal
from app.exports.filters import Filters
from app.exports.kind import Kind, PageResult
from app.exports.names import dong_names, names
from app.exports.repository import ExportRepository

HOUSEHOLD_COLUMNS = [
    "id",
    "version",
    "district_code",
    "dong_code",
    "head_name",
    "address",
    "address_detail",
    "contact_phone",
    "members",
    "tags",
    "living_situation",
    "risk_level",
    "priority",
    "status",
    "status_changed_at",
    "recurrence_count",
    "coordinator_id",
    "assessed_risk",
    "unreachable",
    "due_at",
    "deadline_state",
    "created_at",
    "updated_at",
]


async def households_page(
    session: AsyncSession, principal: Principal, filters: Filters, cursor: str | None, limit: int
) -> PageResult:
    """Households as REST lists them for the caller (:func:`app.households.views.household_views`: never a
    registration number nor another sensitive field)."""
    from app.access.policy import household_filter
    from app.households.views import household_views

    clause = await household_filter(session, principal)
    households, next_cursor = await ExportRepository(session).households(clause, filters, cursor, limit)
    if not households:
        return [], next_cursor, []
    views = await household_views(session, principal, households)
    rows = [view.model_dump(mode="json", exclude={"sensitive"}) for view in views]
    items = [(h.id, h.id) for h in households]
    return rows, next_cursor, items


async def _households_people(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from app.auth.models import User

    dongs = await dong_names(session, {r["dong_code"] for r in rows})
    coordinators = await names(session, User, {r.get("coordinator_id") for r in rows}, "display_name")
    out = []
    for r in rows:
        consent = r.get("consent") or {}
        out.append(
            {
                **r,
                "dong_name": dongs.get(r["dong_code"], r["dong_code"]),
                "member_count": len(r.get("members") or []),
                "coordinator": coordinators.get(str(r.get("coordinator_id"))),
                "consent_in_force": bool(consent.get("in_force")),
            }
        )
    return out


#: (key, Korean title, English title) of each spreadsheet column, by kind.
HOUSEHOLD_SHEET = [
    ("id", "가구 ID", "Household ID"),
    ("dong_name", "행정동", "Dong"),
    ("dong_code", "행정동 코드", "Dong code"),
    ("head_name", "세대주", "Head of household"),
    ("address", "주소", "Address"),
    ("address_detail", "상세 주소", "Address detail"),
    ("contact_phone", "연락처", "Phone"),
    ("member_count", "가구원 수", "Members"),
    ("tags", "특성", "Tags"),
    ("living_situation", "생활 실태", "Living situation"),
    ("risk_level", "위기 수준", "Risk level"),
    ("priority", "우선순위", "Priority"),
    ("status", "상태", "Status"),
    ("status_changed_at", "상태 변경", "Status changed"),
    ("recurrence_count", "재발 횟수", "Recurrences"),
    ("coordinator", "담당 코디네이터", "Coordinator"),
    ("assessed_risk", "사정 위기 수준", "Assessed risk"),
    ("consent_in_force", "동의 유효", "Consent in force"),
    ("unreachable", "연락 불가", "Unreachable"),
    ("due_at", "처리 기한", "Due"),
    ("deadline_state", "기한 상태", "Deadline state"),
    ("created_at", "등록", "Created"),
    ("updated_at", "수정", "Updated"),
]


KIND = Kind(
    "households",
    HOUSEHOLD_COLUMNS,
    households_page,
    statuses=("identified", "contacted", "assessed", "supported", "monitoring", "closed"),
    entity="household",
    sheet=HOUSEHOLD_SHEET,
    people=_households_people,
)
