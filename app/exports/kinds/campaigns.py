"""The ``campaign-summaries`` export: a few campaigns a page, each summarized (aggregates only; the summary's
owner, ``app.campaigns.summary``, may declare its table)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal
from app.exports.filters import Filters
from app.exports.kind import Kind, PageResult
from app.exports.names import dong_names
from app.exports.repository import ExportRepository

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


async def campaigns_page(
    session: AsyncSession, principal: Principal, filters: Filters, cursor: str | None, limit: int
) -> PageResult:
    """A few campaigns per page (a summary is computed for each): rows ``total``, then one per dong and one
    per source (``dimension``/``key``). Aggregates only; ``summarize`` audits each summary."""
    from app.campaigns.service import visible
    from app.campaigns.summary import summarize

    campaigns, next_cursor = await ExportRepository(session).campaigns(filters, cursor, max(1, limit // 25))
    rows: list[dict[str, Any]] = []
    for campaign in campaigns:
        if not visible(principal, campaign):
            continue
        summary = await summarize(session, principal, campaign)
        rows.extend(campaign_rows(campaign, summary, filters))
    return rows, next_cursor, []


def campaign_rows(campaign: Any, summary: Any, filters: Filters) -> list[dict[str, Any]]:
    """The rows of one campaign's summary: ``app.campaigns.summary.summary_rows`` when that module offers them
    (the summary's owner decides its table), else a ``total`` row, one per dong and one per source
    (``dimension``/``key``) from the summary as it is. ``dong_code`` narrows to the dong rows."""
    from app.campaigns import summary as owner

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


#: Titles of the campaign summary's columns that ``app.campaigns.summary.TABLE_COLUMNS`` may name.
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
    """``app.campaigns.summary.TABLE_COLUMNS`` ((key, Korean title) …) when the summary's owner declares its table."""
    from app.campaigns import summary as owner

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


KIND = Kind(
    "campaign-summaries",
    CAMPAIGN_COLUMNS,
    campaigns_page,
    statuses=("active", "inactive"),
    writes=True,
    sheet=CAMPAIGN_SHEET,
    people=_campaigns_people,
    columns_of=_campaign_fields,
    sheet_of=_campaign_sheet,
)
