"""Streaming exports of households, visits, supports and campaign summaries (DESIGN §6; issue 18, item 6), as
NDJSON for machines, and as CSV or XLSX for people who open them in a spreadsheet.

An export pages through the database by an immutable key (``created_at``, ``id``), a page at a time, each
page in a short transaction of its own (the request's session has closed by the time the body streams):
a slow reader never holds a transaction open, every row that existed when the export started is sent
exactly once, and memory stays bounded by one page. Each page is scoped by the access policy and shaped by
the owning domain's view function (the same redaction as the REST API: a household as REST lists it, never a
registration number or another sensitive field), and audited (one event per record with its household)
before it is sent.

Formats. ``ndjson`` carries the record's fields with their ids (:data:`VISIT_COLUMNS` …). ``csv`` and ``xlsx``
are for people (:mod:`app.exports.tabular`: UTF-8 with a byte order mark, formulas neutralised; a real
workbook): names instead of ids (dongs by ``app.areas``, resources, providers, workers, campaigns and
facilities), headers in the caller's language (Korean first, English by ``Accept-Language``), times in the
service's time zone.

Who may export: coordinators (their jurisdiction), and integration clients holding ``exports:read`` plus
the read scope of the kind (``households:read``, ``visits:read``, ``supports:read``). Campaign summaries are
for coordinators (the campaign summary itself is).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import codes_clause, visit_filter
from app.audit import service as audit
from app.auth.models import Role
from app.auth.principal import Principal
from app.core.db import open_session
from app.core.errors import Problem
from app.core.i18n import t
from app.core.state import AppState
from app.core.times import rfc3339
from app.exports import tabular

PAGE_SIZE = 500
KINDS = ("households", "visits", "supports", "campaign-summaries")
FORMATS = ("ndjson", "csv", "xlsx")
MEDIA_TYPES = dict(tabular.MEDIA_TYPES)
#: The scope an integration client needs, besides exports:read, for each kind (None: not for clients).
KIND_SCOPES: dict[str, str | None] = {
    "households": "households:read",
    "visits": "visits:read",
    "supports": "supports:read",
    "campaign-summaries": None,
}


def field_problem(field: str, key: str, **params: Any) -> Problem:
    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": 1},
        extra={"errors": [{"field": field, "code": "value_error", "message": t(key, **params)}]},
    )


# --- filters ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    dong_code: str | None = None
    status: str | None = None
    campaign_id: uuid.UUID | None = None

    def describe(self) -> dict[str, Any]:
        """For the audit trail: codes and bounds only."""
        return {
            k: (rfc3339(v) if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v)
            for k, v in (
                ("from", self.start),
                ("to", self.end),
                ("dong_code", self.dong_code),
                ("status", self.status),
                ("campaign_id", self.campaign_id),
            )
            if v is not None
        }


def parse_bound(value: str | None, *, field: str, end: bool, tz: Any) -> datetime | None:
    """A date (the whole day in the service's time zone; ``to`` inclusive) or an RFC 3339 date-time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=tz)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise field_problem(field, "exports.bad-bound") from exc
    if parsed.tzinfo is None:
        raise field_problem(field, "exports.bad-bound")
    return parsed


# --- who may export what ---------------------------------------------------------------------------------------


def check_allowed(principal: Principal, kind: str) -> None:
    """403 for roles that never export, and for clients without the scopes of this kind."""
    if principal.role == Role.coordinator:
        return
    if principal.role == Role.integration:
        needed = ["exports:read"]
        extra = KIND_SCOPES[kind]
        if extra is None:
            raise Problem(403, "forbidden", "exports.coordinators-only", params={"kind": kind})
        needed.append(extra)
        missing = [s for s in needed if s not in principal.scopes]
        if missing:
            raise Problem(403, "forbidden", "detail.scope-forbidden", params={"scope": " ".join(missing)})
        return
    raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": "coordinator, integration"})


# --- kinds -----------------------------------------------------------------------------------------------------


@dataclass
class Kind:
    name: str
    #: The fields of an NDJSON record (the page's rows may carry more: the views' full data).
    columns: list[str]
    #: One page after ``after`` (created_at, id): rows to send, the new ``after``, and audit items.
    page: Callable[..., Any]
    statuses: tuple[str, ...] = ()
    #: The page function writes (campaign summaries audit themselves): read it in a writing transaction.
    writes: bool = False
    #: The entity audited for each record sent.
    entity: str = ""
    #: The spreadsheet's columns (key, Korean title, English title) and the function that turns a page of rows
    #: into them (names instead of ids), in the page's session.
    sheet: list[tuple[str, str, str]] = field(default_factory=list)
    people: Callable[..., Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    #: Where the owning domain decides the table (campaign summaries): the NDJSON fields and the sheet's
    #: columns, computed when asked.
    columns_of: Callable[[], list[str]] | None = None
    sheet_of: Callable[[], list[tuple[str, str, str]]] | None = None

    def fields(self) -> list[str]:
        return self.columns_of() if self.columns_of is not None else self.columns

    def sheet_columns(self) -> list[tabular.Column]:
        sheet = self.sheet_of() if self.sheet_of is not None else self.sheet
        out = []
        for key, ko, _en in sheet:
            title = t(f"exports.col.{self.name}.{key}")
            out.append(tabular.Column(key, ko if title == f"exports.col.{self.name}.{key}" else title))
        return out


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


def _after_clause(created_col: Any, id_col: Any, after: tuple[datetime, uuid.UUID] | None) -> Any:
    if after is None:
        return true()
    return or_(created_col > after[0], and_(created_col == after[0], id_col > after[1]))


async def _visits_page(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    from app.visits.models import Visit
    from app.visits.service import visit_views

    stmt = select(Visit).where(
        Visit.deleted_at.is_(None), visit_filter(principal), _after_clause(Visit.created_at, Visit.id, after)
    )
    if filters.start is not None:
        stmt = stmt.where(Visit.window_start >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Visit.window_start < filters.end)
    if filters.dong_code:
        stmt = stmt.where(codes_clause(Visit.dong_code, [filters.dong_code]))
    if filters.status:
        stmt = stmt.where(Visit.status == filters.status)
    if filters.campaign_id:
        stmt = stmt.where(Visit.campaign_id == filters.campaign_id)
    visits = list((await session.execute(stmt.order_by(Visit.created_at, Visit.id).limit(limit))).scalars())
    if not visits:
        return [], None, []
    views = await visit_views(session, principal, visits)
    rows = []
    items = []
    for visit, view in zip(visits, views, strict=True):
        data = view.model_dump(mode="json", exclude={"view"})
        rows.append(data)
        if visit.household_id is not None and data.get("household_id") is not None:
            items.append((visit.id, visit.household_id))
    return rows, (visits[-1].created_at, visits[-1].id), items


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


async def _supports_page(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    from app.care.models import Support
    from app.care.supports import support_view, to_public_many

    view = await support_view(session, principal)
    stmt = select(Support).where(view.clause, _after_clause(Support.created_at, Support.id, after))
    if filters.start is not None:
        stmt = stmt.where(Support.created_at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Support.created_at < filters.end)
    if filters.dong_code:
        stmt = stmt.where(codes_clause(Support.dong_code, [filters.dong_code]))
    if filters.status:
        stmt = stmt.where(Support.status == filters.status)
    supports = list((await session.execute(stmt.order_by(Support.created_at, Support.id).limit(limit))).scalars())
    if not supports:
        return [], None, []
    views = await to_public_many(session, principal, supports, view)
    rows = []
    for pub in views:
        rows.append(pub.model_dump(mode="json"))
    items = [(s.id, s.household_id) for s in supports]
    return rows, (supports[-1].created_at, supports[-1].id), items


CAMPAIGN_COLUMNS = [
    "campaign_id",
    "campaign_name",
    "starts_on",
    "ends_on",
    "as_of",
    "dimension",
    "key",
    "identified",
    "visited",
    "supported",
    "monitored",
    "visits_completed",
    "facilities_inspected",
    "supports",
]


async def _campaigns_page(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    """A few campaigns per page (a summary is computed for each): rows ``total``, then one per dong and one
    per source (``dimension``/``key``). Aggregates only; ``summarize`` audits each summary."""
    from app.care.campaigns import summarize, visible
    from app.care.models import Campaign

    stmt = select(Campaign).where(_after_clause(Campaign.created_at, Campaign.id, after))
    if filters.start is not None:
        stmt = stmt.where(Campaign.ends_on >= filters.start.date())
    if filters.end is not None:
        stmt = stmt.where(Campaign.starts_on < filters.end.date() + timedelta(days=1))
    if filters.status:
        stmt = stmt.where(Campaign.active.is_(filters.status == "active"))
    if filters.campaign_id:
        stmt = stmt.where(Campaign.id == filters.campaign_id)
    campaigns = list(
        (await session.execute(stmt.order_by(Campaign.created_at, Campaign.id).limit(max(1, limit // 25)))).scalars()
    )
    if not campaigns:
        return [], None, []
    rows: list[dict[str, Any]] = []
    for campaign in campaigns:
        if not visible(principal, campaign):
            continue
        summary = await summarize(session, principal, campaign)
        rows.extend(campaign_rows(campaign, summary, filters))
    return rows, (campaigns[-1].created_at, campaigns[-1].id), []


def campaign_rows(campaign: Any, summary: Any, filters: Filters) -> list[dict[str, Any]]:
    """The rows of one campaign's summary: ``app.care.campaigns.summary_rows`` when that module offers them
    (the summary's owner decides its table), else a ``total`` row, one per dong and one per source
    (``dimension``/``key``) from the summary as it is. ``dong_code`` narrows to the dong rows."""
    from app.care import campaigns as owner

    base = {
        "campaign_id": str(campaign.id),
        "campaign_name": campaign.name,
        "starts_on": summary.starts_on.isoformat(),
        "ends_on": summary.ends_on.isoformat(),
        "as_of": summary.as_of.isoformat(),
    }
    own = getattr(owner, "summary_rows", None)
    if own is not None:
        rows = []
        for row in own(summary):
            if filters.dong_code and not str(row.get("dong_code") or row.get("key") or "").startswith(
                filters.dong_code
            ):
                continue
            rows.append({**dict.fromkeys(CAMPAIGN_COLUMNS), **base, **row})
        return rows
    groups: list[tuple[str, str, dict[str, Any]]] = []
    if not filters.dong_code:
        extra = {
            "visits_completed": summary.visits_completed,
            "facilities_inspected": summary.facilities_inspected,
            "supports": summary.supports,
        }
        groups.append(("total", "", {**summary.totals.model_dump(), **extra}))
    for d in summary.by_dong:
        if filters.dong_code and not d.dong_code.startswith(filters.dong_code):
            continue
        groups.append(("dong", d.dong_code, d.model_dump(exclude={"dong_code"})))
    if not filters.dong_code:
        groups.extend(("source", s.source, s.model_dump(exclude={"source"})) for s in summary.by_source)
    out = []
    for dimension, key, counts in groups:
        row = dict.fromkeys(CAMPAIGN_COLUMNS)
        row.update(base)
        row.update({"dimension": dimension, "key": key, **counts})
        out.append(row)
    return out


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


async def _households_page(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    """Households as REST lists them for the caller (:func:`app.households.service.household_views`: never a
    registration number nor another sensitive field)."""
    from app.access.policy import household_filter
    from app.households.models import Household
    from app.households.service import household_views

    stmt = select(Household).where(
        await household_filter(session, principal), _after_clause(Household.created_at, Household.id, after)
    )
    if filters.start is not None:
        stmt = stmt.where(Household.created_at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Household.created_at < filters.end)
    if filters.dong_code:
        stmt = stmt.where(codes_clause(Household.dong_code, [filters.dong_code]))
    if filters.status:
        stmt = stmt.where(Household.status == filters.status)
    households = list((await session.execute(stmt.order_by(Household.created_at, Household.id).limit(limit))).scalars())
    if not households:
        return [], None, []
    views = await household_views(session, principal, households)
    rows = [view.model_dump(mode="json", exclude={"sensitive"}) for view in views]
    items = [(h.id, h.id) for h in households]
    return rows, (households[-1].created_at, households[-1].id), items


# --- names instead of ids, for people ---------------------------------------------------------------------------


async def dong_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    """Names of districts and dongs (``app.areas`` when installed; the code itself otherwise)."""
    codes = {c for c in codes if c}
    try:
        from app.areas.service import area_names
    except ImportError:  # pragma: no cover - areas not installed in this build
        return {code: code for code in codes}
    return await area_names(session, codes) if codes else {}


async def _names(session: AsyncSession, model: Any, ids: set[Any], column: str = "name") -> dict[str, str]:
    wanted = [uuid.UUID(str(i)) for i in ids if i]
    if not wanted:
        return {}
    out: dict[str, str] = {}
    col = getattr(model, column)
    for i in range(0, len(wanted), 500):
        rows = await session.execute(select(model.id, col).where(model.id.in_(wanted[i : i + 500])))
        out.update({str(k): v for k, v in rows.all()})
    return out


def _joined(values: list[Any]) -> str:
    return "; ".join(str(v) for v in values if v not in (None, ""))


async def _visits_people(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from app.care.models import Campaign
    from app.visits.models import Facility

    dongs = await dong_names(session, {r["dong_code"] for r in rows})
    campaigns = await _names(session, Campaign, {r.get("campaign_id") for r in rows})
    facilities = await _names(session, Facility, {r.get("facility_id") for r in rows})
    out = []
    for r in rows:
        team = r.get("team") or []
        lead = next((m for m in team if m.get("lead")), None)
        out.append(
            {
                **r,
                "dong_name": dongs.get(r["dong_code"], r["dong_code"]),
                "facility_name": facilities.get(str(r.get("facility_id"))),
                "workers": _joined([m.get("display_name") for m in team]),
                "lead": lead.get("display_name") if lead else None,
                "organizations": _joined(list(dict.fromkeys(m.get("organization_name") for m in team))),
                "campaign_name": campaigns.get(str(r.get("campaign_id"))),
            }
        )
    return out


async def _supports_people(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from app.auth.models import Organization, User

    dongs = await dong_names(session, {r["dong_code"] for r in rows})
    providers = await _names(session, Organization, {r.get("provider_organization_id") for r in rows})
    people = await _names(
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


async def _households_people(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from app.auth.models import User

    dongs = await dong_names(session, {r["dong_code"] for r in rows})
    coordinators = await _names(session, User, {r.get("coordinator_id") for r in rows}, "display_name")
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


async def _campaigns_people(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the summary's owner name their areas already; older ones get ``area_name``."""
    if rows and "dong_name" in rows[0]:
        return rows
    codes = {str(r.get("dong_code") or r.get("key") or "") for r in rows}
    dongs = await dong_names(session, {c for c in codes if c.isdigit()})
    out = []
    for r in rows:
        code = str(r.get("dong_code") or (r.get("key") if r.get("dimension") in ("dong", "district") else "") or "")
        out.append({**r, "area_name": dongs.get(code, code) if code else None})
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
#: Titles of the campaign summary's columns that ``app.care.campaigns.TABLE_COLUMNS`` may name.
CAMPAIGN_TITLES = {
    "dimension_label": ("구분", "Dimension"),
    "district_code": ("시군구 코드", "District code"),
    "district_name": ("시군구", "District"),
    "dong_code": ("행정동 코드", "Dong code"),
    "dong_name": ("행정동", "Dong"),
    "source": ("발굴 경로 코드", "Source code"),
    "source_label": ("발굴 경로", "Source"),
    "reached": ("연락됨", "Reached"),
    "unreachable": ("연락두절", "Unreachable"),
    "in_monitoring": ("모니터링 중", "In monitoring"),
    "deadlines_missed": ("처리기한 경과", "Deadlines missed"),
}
CAMPAIGN_SHEET = [
    ("campaign_name", "캠페인", "Campaign"),
    ("starts_on", "시작일", "Starts"),
    ("ends_on", "종료일", "Ends"),
    ("as_of", "기준일", "As of"),
    ("dimension", "구분", "Dimension"),
    ("area_name", "지역", "Area"),
    ("key", "항목", "Key"),
    ("identified", "발굴", "Identified"),
    ("visited", "방문", "Visited"),
    ("supported", "지원", "Supported"),
    ("monitored", "모니터링", "Monitored"),
    ("visits_completed", "완료 방문", "Visits completed"),
    ("facilities_inspected", "점검 시설", "Facilities inspected"),
    ("supports", "지원 건수", "Supports"),
    ("campaign_id", "캠페인 ID", "Campaign ID"),
]


def _owner_table() -> list[tuple[str, str]] | None:
    """``app.care.campaigns.TABLE_COLUMNS`` ((key, Korean title) …) when the summary's owner declares its table."""
    from app.care import campaigns as owner

    table = getattr(owner, "TABLE_COLUMNS", None)
    return [(str(k), str(title)) for k, title in table] if table else None


_CAMPAIGN_HEAD = ["campaign_id", "campaign_name", "starts_on", "ends_on", "as_of"]


def _campaign_fields() -> list[str]:
    table = _owner_table()
    if table is None:
        return CAMPAIGN_COLUMNS
    return [*_CAMPAIGN_HEAD, *[k for k, _ in table if k not in _CAMPAIGN_HEAD]]


def _campaign_sheet() -> list[tuple[str, str, str]]:
    table = _owner_table()
    if table is None:
        return CAMPAIGN_SHEET
    known = {key: (ko, en) for key, ko, en in CAMPAIGN_SHEET} | CAMPAIGN_TITLES
    head = [c for c in CAMPAIGN_SHEET if c[0] in ("campaign_name", "starts_on", "ends_on", "as_of")]
    body = [
        (key, *known.get(key, (title, key)))
        for key, title in table
        if key not in _CAMPAIGN_HEAD and key != "dimension"  # the label says it in words
    ]
    return [*head, *body, ("campaign_id", "캠페인 ID", "Campaign ID")]


KIND_DEFS: dict[str, Kind] = {
    "households": Kind(
        "households",
        HOUSEHOLD_COLUMNS,
        _households_page,
        statuses=("identified", "contacted", "assessed", "supported", "monitoring", "closed"),
        entity="household",
        sheet=HOUSEHOLD_SHEET,
        people=_households_people,
    ),
    "visits": Kind(
        "visits",
        VISIT_COLUMNS,
        _visits_page,
        statuses=("scheduled", "in_progress", "completed", "no_contact", "refused", "cancelled"),
        entity="visit",
        sheet=VISIT_SHEET,
        people=_visits_people,
    ),
    "supports": Kind(
        "supports",
        SUPPORT_COLUMNS,
        _supports_page,
        statuses=("proposed", "requested", "approved", "provided", "declined"),
        entity="support",
        sheet=SUPPORT_SHEET,
        people=_supports_people,
    ),
    "campaign-summaries": Kind(
        "campaign-summaries",
        CAMPAIGN_COLUMNS,
        _campaigns_page,
        statuses=("active", "inactive"),
        writes=True,
        sheet=CAMPAIGN_SHEET,
        people=_campaigns_people,
        columns_of=_campaign_fields,
        sheet_of=_campaign_sheet,
    ),
}


def sheet_titles() -> dict[str, dict[str, str]]:
    """The message catalogue entries of every spreadsheet column title (registered by ``messages``)."""
    titles = {
        f"exports.col.{kind.name}.{key}": {"ko": ko, "en": en}
        for kind in KIND_DEFS.values()
        for key, ko, en in kind.sheet
    }
    titles.update(
        {f"exports.col.campaign-summaries.{key}": {"ko": ko, "en": en} for key, (ko, en) in CAMPAIGN_TITLES.items()}
    )
    return titles


def available(kind: str) -> bool:
    """Whether the tables the kind reads exist in this build (supports and campaigns come from app.care)."""
    try:
        if kind == "households":
            import app.households.service
        elif kind == "supports":
            import app.care.supports
        elif kind == "campaign-summaries":
            import app.care.campaigns
        else:
            import app.visits.service  # noqa: F401
    except ImportError:
        return False
    return True


# --- writers ---------------------------------------------------------------------------------------------------


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def typed(value: Any) -> Any:
    """A view's JSON value as a spreadsheet wants it: RFC 3339 date-times and dates as such (the writer puts
    them in the service's time zone), everything else as it is."""
    if isinstance(value, str):
        if _DATE_TIME.match(value):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if _DATE.match(value):
            return date.fromisoformat(value)
    return value


def csv_chunk(rows: list[dict[str, Any]], columns: list[str], header: bool) -> bytes:
    """Rows of ``columns`` as CSV (the machine columns; cells as :func:`app.exports.tabular.csv_cell`)."""
    cols = [tabular.Column(c) for c in columns]
    return (tabular.csv_header(cols, bom=False) if header else b"") + tabular.csv_rows(rows, cols)


def ndjson_chunk(rows: list[dict[str, Any]], columns: list[str] | None = None) -> bytes:
    if columns is not None:
        rows = [{c: r.get(c) for c in columns} for r in rows]
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows).encode()


async def _pages(
    state: AppState,
    principal: Principal,
    spec: Kind,
    fmt: str,
    filters: Filters,
    *,
    export_id: uuid.UUID,
    limit: int,
    reason: str | None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The export's pages: each read and redacted in a short read transaction (and, for people, given names
    in it), then audited in a short writing one (so SQLite's single write lock is held only for the audit
    rows), and only then yielded."""
    after: tuple[datetime, uuid.UUID] | None = None
    for _ in range(10_000_000):  # bounded: one round per page
        async with open_session(state.sessionmaker, write=spec.writes) as session:
            rows, after, items = await spec.page(session, principal, filters, after, limit)
            if rows and fmt != "ndjson" and spec.people is not None:
                rows = [{k: typed(v) for k, v in row.items()} for row in await spec.people(session, rows)]
        if items:
            async with open_session(state.sessionmaker, write=True) as session:
                await audit.record_many(
                    session,
                    principal,
                    "export.read",
                    entity=spec.entity or "export",
                    items=items,
                    purpose=reason,
                    details={"export_id": str(export_id), "kind": spec.name},
                )
        if rows:
            yield rows
        if after is None:
            return


async def stream_export(
    state: AppState,
    principal: Principal,
    kind: str,
    fmt: str,
    filters: Filters,
    *,
    export_id: uuid.UUID,
    bom: bool = False,
    page_size: int | None = None,
    reason: str | None = None,
) -> AsyncIterator[bytes]:
    """The export's body, a page at a time: NDJSON records of the kind's fields; CSV (a header, then a chunk a
    page) or XLSX (:mod:`app.exports.tabular`) of its spreadsheet columns with names."""
    spec = KIND_DEFS[kind]
    pages = _pages(
        state, principal, spec, fmt, filters, export_id=export_id, limit=page_size or PAGE_SIZE, reason=reason
    )
    if fmt == "ndjson":
        async for rows in pages:
            yield ndjson_chunk(rows, spec.fields())
        return
    async for chunk in tabular.stream_table(
        fmt, spec.sheet_columns(), pages, tz=state.settings.tz, bom=bom, sheet=kind
    ):
        yield chunk


#: The request header that carries why personal data is downloaded (DESIGN §3.6; docs/integrations.md).
REASON_HEADER = "Ongi-Reason"


def download_reason(raw: str | None) -> str:
    """The reason a download of personal data gives (``Ongi-Reason``: UTF-8, percent-encoded, since header
    values are Latin-1), or a 422 naming ``header.ongi-reason``. Never in the URL: URLs end up in logs."""
    from urllib.parse import unquote

    text = " ".join(unquote(raw or "", errors="strict").split()) if raw else ""
    if not 2 <= len(text) <= 500 or any(ord(c) < 32 for c in text):
        raise field_problem("header.ongi-reason", "exports.reason-required")
    return text
