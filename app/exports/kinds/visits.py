"""The ``visits`` export: visits as REST shows them to the caller (``app.visits.views.visit_views``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import visit_filter
from app.core.principal import Principal
from app.exports.filters import Filters
from app.exports.kind import Kind, PageResult
from app.exports.names import dong_names, joined, names
from app.exports.repository import ExportRepository

VISIT_COLUMNS = [
    "id",
    "version",
    "household_id",
    "facility_id",
    "dong_code",
    "purpose",
    "status",
    "window_start",
    "window_end",
    "assignees",
    "campaign_id",
    "checklists",
    "outcome",
    "checked_in_at",
    "checked_out_at",
    "overdue",
    "cancel_reason",
    "created_at",
    "updated_at",
]


async def visits_page(
    session: AsyncSession, principal: Principal, filters: Filters, cursor: str | None, limit: int
) -> PageResult:
    from app.visits.views import visit_views

    visits, next_cursor = await ExportRepository(session).visits(visit_filter(principal), filters, cursor, limit)
    if not visits:
        return [], next_cursor, []
    views = await visit_views(session, principal, visits)
    rows = []
    items = []
    for visit, view in zip(visits, views, strict=True):
        data = view.model_dump(mode="json", exclude={"view"})
        rows.append(data)
        if visit.household_id is not None and data.get("household_id") is not None:
            items.append((visit.id, visit.household_id))
    return rows, next_cursor, items


async def _visits_people(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from app.campaigns.models import Campaign
    from app.visits.models import Facility

    dongs = await dong_names(session, {r["dong_code"] for r in rows})
    campaigns = await names(session, Campaign, {r.get("campaign_id") for r in rows})
    facilities = await names(session, Facility, {r.get("facility_id") for r in rows})
    out = []
    for r in rows:
        team = r.get("team") or []
        lead = next((m for m in team if m.get("lead")), None)
        out.append(
            {
                **r,
                "dong_name": dongs.get(r["dong_code"], r["dong_code"]),
                "facility_name": facilities.get(str(r.get("facility_id"))),
                "workers": joined([m.get("display_name") for m in team]),
                "lead": lead.get("display_name") if lead else None,
                "organizations": joined(list(dict.fromkeys(m.get("organization_name") for m in team))),
                "campaign_name": campaigns.get(str(r.get("campaign_id"))),
            }
        )
    return out


VISIT_SHEET = [
    ("id", "방문 ID", "Visit ID"),
    ("dong_name", "행정동", "Dong"),
    ("dong_code", "행정동 코드", "Dong code"),
    ("household_id", "가구 ID", "Household ID"),
    ("facility_name", "시설", "Facility"),
    ("purpose", "목적", "Purpose"),
    ("status", "상태", "Status"),
    ("window_start", "방문 시작", "Window start"),
    ("window_end", "방문 끝", "Window end"),
    ("workers", "담당자", "Workers"),
    ("lead", "주 담당자", "Lead"),
    ("organizations", "기관", "Organizations"),
    ("campaign_name", "캠페인", "Campaign"),
    ("outcome", "결과", "Outcome"),
    ("checked_in_at", "체크인", "Checked in"),
    ("checked_out_at", "체크아웃", "Checked out"),
    ("overdue", "기한 초과", "Overdue"),
    ("cancel_reason", "취소 사유", "Cancel reason"),
    ("created_at", "등록", "Created"),
    ("updated_at", "수정", "Updated"),
]


KIND = Kind(
    "visits",
    VISIT_COLUMNS,
    visits_page,
    statuses=("scheduled", "in_progress", "completed", "no_contact", "refused", "cancelled"),
    entity="visit",
    sheet=VISIT_SHEET,
    people=_visits_people,
)
