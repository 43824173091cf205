"""The ``supports`` export: supports as REST shows them to the caller (``app.supports.service.to_public_many``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal
from app.exports.filters import Filters
from app.exports.kind import Kind, PageResult
from app.exports.names import dong_names, names
from app.exports.repository import ExportRepository

SUPPORT_COLUMNS = [
    "id",
    "version",
    "household_id",
    "resource_id",
    "resource_name",
    "resource_kind",
    "category",
    "case_id",
    "visit_id",
    "district_code",
    "dong_code",
    "status",
    "amount",
    "period_start",
    "period_end",
    "provider_organization_id",
    "reason",
    "status_changed_at",
    "requested_at",
    "approved_at",
    "provided_at",
    "declined_at",
    "decline_reason",
    "created_at",
    "updated_at",
]


async def supports_page(
    session: AsyncSession, principal: Principal, filters: Filters, cursor: str | None, limit: int
) -> PageResult:
    from app.access.supports import support_view
    from app.supports.service import to_public_many

    view = await support_view(session, principal)
    supports, next_cursor = await ExportRepository(session).supports(view.clause, filters, cursor, limit)
    if not supports:
        return [], next_cursor, []
    views = await to_public_many(session, principal, supports, view)
    rows = [pub.model_dump(mode="json") for pub in views]
    items = [(s.id, s.household_id) for s in supports]
    return rows, next_cursor, items


async def _supports_people(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from app.auth.models import Organization, User

    dongs = await dong_names(session, {r["dong_code"] for r in rows})
    providers = await names(session, Organization, {r.get("provider_organization_id") for r in rows})
    people = await names(
        session,
        User,
        {r.get("proposed_by_id") for r in rows} | {r.get("approved_by_id") for r in rows},
        "display_name",
    )
    return [
        {
            **r,
            "dong_name": dongs.get(r["dong_code"], r["dong_code"]),
            "provider_name": providers.get(str(r.get("provider_organization_id"))),
            "proposed_by": people.get(str(r.get("proposed_by_id"))),
            "approved_by": people.get(str(r.get("approved_by_id"))),
        }
        for r in rows
    ]


SUPPORT_SHEET = [
    ("id", "지원 ID", "Support ID"),
    ("household_id", "가구 ID", "Household ID"),
    ("dong_name", "행정동", "Dong"),
    ("dong_code", "행정동 코드", "Dong code"),
    ("resource_name", "자원", "Resource"),
    ("resource_kind", "자원 구분", "Resource kind"),
    ("category", "분류", "Category"),
    ("provider_name", "제공 기관", "Provider"),
    ("status", "상태", "Status"),
    ("amount", "금액(원)", "Amount (KRW)"),
    ("period_start", "기간 시작", "Period start"),
    ("period_end", "기간 끝", "Period end"),
    ("proposed_by", "제안자", "Proposed by"),
    ("approved_by", "승인자", "Approved by"),
    ("reason", "사유", "Reason"),
    ("requested_at", "요청", "Requested"),
    ("approved_at", "승인", "Approved"),
    ("provided_at", "제공", "Provided"),
    ("declined_at", "거절", "Declined"),
    ("decline_reason", "거절 사유", "Decline reason"),
    ("created_at", "등록", "Created"),
    ("updated_at", "수정", "Updated"),
]


KIND = Kind(
    "supports",
    SUPPORT_COLUMNS,
    supports_page,
    statuses=("proposed", "requested", "approved", "provided", "declined"),
    entity="support",
    sheet=SUPPORT_SHEET,
    people=_supports_people,
)
