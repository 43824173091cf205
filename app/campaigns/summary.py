"""The summary of a campaign (``docs/care.md``), as JSON or as a CSV or XLSX table.

Summary, in households (dates in the service time zone, the period inclusive):

* **identified**: households in the campaign's areas with a signal observed in the period that meets the
  criteria (``sources``: any of these signal sources; ``indicators``: any of these indicators; ``tags``: the
  household has any of these tags; ``min_risk``: its risk level now is at least this);
* **visited**: households with a completed visit of the campaign (``visits_completed`` counts the visits,
  ``facilities_inspected`` the completed facility visits);
* **supported**: households with a support approved or provided in the period (``supports`` counts them);
* **monitored**: households in the areas with an active monitoring plan that started by the period's end.

``by_dong`` splits each count by the household's dong. ``by_source`` splits by signal source: identified
by the sources of the qualifying signals in the period; visited, supported and monitored by every source
that brought the household to attention up to the period's end (``unknown`` when none did). A household
counts once per dong and once per source it has.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import campaigns as access
from app.areas.service import area_names
from app.campaigns import messages as _messages  # noqa: F401  (registers the summary's labels)
from app.campaigns.models import Campaign
from app.campaigns.repository import CampaignRepository
from app.campaigns.schemas import (
    CampaignCriteria,
    CampaignSummary,
    DistrictSummary,
    DongSourceSummary,
    DongSummary,
    SourceSummary,
    SummaryCounts,
)
from app.campaigns.service import require_coordinator
from app.core.errors import Problem
from app.core.i18n import t
from app.core.principal import Principal
from app.core.tabular import XLSX_MEDIA_TYPE, negotiate, table_response
from app.core.times import local_today, period_bounds
from app.households.clocks import deadline_fields
from app.households.models import HouseholdStatus, RiskLevel
from app.journal import audit
from app.winter.models import DeadlineNotice

RISK_RANK = {RiskLevel.low: 0, RiskLevel.moderate: 1, RiskLevel.high: 2, RiskLevel.critical: 3}


def _chunks(ids: list[uuid.UUID], size: int = 500) -> list[list[uuid.UUID]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def summarize(
    session: AsyncSession, principal: Principal, campaign: Campaign, *, now: datetime | None = None
) -> CampaignSummary:
    require_coordinator(principal)
    now = now or datetime.now(UTC)
    codes = access.summary_codes(principal, campaign)
    repo = CampaignRepository(session)
    start, end = period_bounds(campaign.starts_on, campaign.ends_on)
    criteria = CampaignCriteria.model_validate(campaign.criteria or {})
    indicators = set(criteria.indicators)
    tags = set(criteria.tags)
    min_rank = RISK_RANK[criteria.min_risk] if criteria.min_risk else 0

    dong_of: dict[uuid.UUID, str] = {}
    identified_sources: dict[uuid.UUID, set[str]] = defaultdict(set)
    sources = [s.value for s in criteria.sources]
    for hid, source, signal_indicators, dong, household_tags, risk in await repo.signals_in(codes, start, end, sources):
        if indicators and not indicators.intersection(signal_indicators or []):
            continue
        if tags and not tags.intersection(household_tags or []):
            continue
        if RISK_RANK[RiskLevel(risk)] < min_rank:
            continue
        dong_of[hid] = dong
        identified_sources[hid].add(str(getattr(source, "value", source)))

    visited: set[uuid.UUID] = set()
    visits_completed = 0
    facilities = 0
    rows = await repo.completed_visits(campaign.id, codes)
    for hid, fid, dong in rows:
        visits_completed += 1
        if hid is not None:
            visited.add(hid)
            dong_of.setdefault(hid, dong)
        elif fid is not None:
            facilities += 1

    supported: set[uuid.UUID] = set()
    supports = 0
    rows = await repo.supports_given(codes, start, end)
    for hid, dong in rows:
        supports += 1
        supported.add(hid)
        dong_of.setdefault(hid, dong)

    monitored: set[uuid.UUID] = set()
    rows = await repo.monitored(codes, campaign.ends_on)
    for hid, dong in rows:
        monitored.add(hid)
        dong_of.setdefault(hid, dong)

    population = set(identified_sources) | visited | supported | monitored
    reached, unreachable, in_monitoring, missed = await _follow_up_sets(session, population, visited, start, end, now)

    # every source that brought a counted household to attention by the end
    ever_sources: dict[uuid.UUID, set[str]] = defaultdict(set)
    for chunk in _chunks(sorted(population)):
        for hid, source in await repo.sources_before(chunk, end):
            ever_sources[hid].add(str(getattr(source, "value", source)))

    columns: dict[str, set[uuid.UUID]] = {
        "identified": set(identified_sources),
        "visited": visited,
        "supported": supported,
        "monitored": monitored,
        "reached": reached,
        "unreachable": unreachable,
        "in_monitoring": in_monitoring,
        "deadlines_missed": missed,
    }
    by_dong: dict[str, SummaryCounts] = defaultdict(SummaryCounts)
    by_district: dict[str, SummaryCounts] = defaultdict(SummaryCounts)
    by_source: dict[str, SummaryCounts] = defaultdict(SummaryCounts)
    by_cell: dict[tuple[str, str], SummaryCounts] = defaultdict(SummaryCounts)
    for name, households in columns.items():
        for hid in households:
            dong = dong_of[hid]
            sources = identified_sources[hid] if name == "identified" else ever_sources.get(hid) or {"unknown"}
            for counts in (by_dong[dong], by_district[dong[:5]]):
                setattr(counts, name, getattr(counts, name) + 1)
            for source in sources:
                for counts in (by_source[source], by_cell[(dong, source)]):
                    setattr(counts, name, getattr(counts, name) + 1)
    names = await area_names(session, {*by_dong, *by_district})

    await audit.record(
        session,
        principal,
        "campaign.summary",
        entity="campaign",
        entity_id=campaign.id,
        details={"identified": len(identified_sources), "visited": len(visited), "supported": len(supported)},
    )
    totals = SummaryCounts(**{name: len(households) for name, households in columns.items()})
    return CampaignSummary(
        campaign_id=campaign.id,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        as_of=local_today(now),
        district_codes=codes,
        totals=totals,
        visits_completed=visits_completed,
        facilities_inspected=facilities,
        supports=supports,
        by_dong=[
            DongSummary(dong_code=d, dong_name=names.get(d), **c.model_dump()) for d, c in sorted(by_dong.items())
        ],
        by_source=[
            SourceSummary(source=src, source_label=source_label(src), **c.model_dump())
            for src, c in sorted(by_source.items())
        ],
        by_district=[
            DistrictSummary(district_code=d, district_name=names.get(d), **c.model_dump())
            for d, c in sorted(by_district.items())
        ],
        by_dong_source=[
            DongSourceSummary(dong_code=d, dong_name=names.get(d), source=src, **c.model_dump())
            for (d, src), c in sorted(by_cell.items())
        ],
    )


def source_label(source: str) -> str:
    return t(f"campaigns.source.{source}")


async def _follow_up_sets(
    session: AsyncSession,
    population: set[uuid.UUID],
    visited: set[uuid.UUID],
    start: datetime,
    end: datetime,
    now: datetime,
) -> tuple[set[uuid.UUID], set[uuid.UUID], set[uuid.UUID], set[uuid.UUID]]:
    """Of the counted households: reached in the period, unreachable now, in monitoring now, and those whose
    legal clock (household, visit or case; ``app.winter``) went overdue in the period or is now."""
    repo = CampaignRepository(session)
    reached = set(visited)
    unreachable: set[uuid.UUID] = set()
    in_monitoring: set[uuid.UUID] = set()
    missed: set[uuid.UUID] = set()
    for chunk in _chunks(sorted(population)):
        reached |= await repo.reached(chunk, start, end)
        for household in await repo.households(chunk):
            if household.unreachable_at is not None:
                unreachable.add(household.id)
            if household.status == HouseholdStatus.monitoring:
                in_monitoring.add(household.id)
            if deadline_fields(household, now)["deadline_state"] == "overdue":
                missed.add(household.id)
        missed |= await repo.overdue_in(DeadlineNotice, chunk, start, end)
    return reached & population, unreachable, in_monitoring, missed


# --- the summary as a table (CSV or XLSX) ------------------------------------------------------------------------

COUNT_COLUMNS = (
    ("identified", "발굴"),
    ("reached", "연락됨"),
    ("unreachable", "연락두절"),
    ("visited", "방문"),
    ("supported", "지원 연계"),
    ("monitored", "모니터링 계획"),
    ("in_monitoring", "모니터링 중"),
    ("deadlines_missed", "처리기한 경과"),
)
TOTAL_COLUMNS = (
    ("visits_completed", "완료 방문 수"),
    ("facilities_inspected", "점검 시설 수"),
    ("supports", "지원 건수"),
)
TABLE_COLUMNS = (
    ("dimension", "구분 코드"),
    ("dimension_label", "구분"),
    ("key", "키"),
    ("district_code", "시군구 코드"),
    ("district_name", "시군구"),
    ("dong_code", "행정동 코드"),
    ("dong_name", "행정동"),
    ("source", "발굴 경로 코드"),
    ("source_label", "발굴 경로"),
    *COUNT_COLUMNS,
    *TOTAL_COLUMNS,
)


def summary_rows(summary: CampaignSummary) -> list[dict[str, object]]:
    """The summary as rows (the CSV/XLSX download here, and ``app.exports``' campaign summaries): the total, then
    by district, by dong, by source, and the dong × source table. ``dimension`` is ``total``, ``district``,
    ``dong``, ``source`` or ``dong_source`` (``dimension_label`` says it in words); ``key`` is the district or
    dong code, the source, or ``dong:source``; names of areas and sources are filled in."""
    dong_names = {d.dong_code: d.dong_name for d in summary.by_dong}
    district_names = {d.district_code: d.district_name for d in summary.by_district}

    def counts(c: SummaryCounts) -> dict[str, object]:
        return {key: getattr(c, key) for key, _ in COUNT_COLUMNS}

    def row(dimension: str, key: str, c: SummaryCounts, dong: str | None = None, **extra: object) -> dict[str, object]:
        district = extra.pop("district", None) or (dong[:5] if dong else None)
        return {
            "dimension": dimension,
            "dimension_label": t(f"campaigns.dimension.{dimension}"),
            "key": key,
            "district_code": district,
            "district_name": district_names.get(district) if district else None,
            "dong_code": dong,
            "dong_name": dong_names.get(dong) if dong else None,
            **extra,
            **counts(c),
        }

    totals = {
        "visits_completed": summary.visits_completed,
        "facilities_inspected": summary.facilities_inspected,
        "supports": summary.supports,
    }
    rows = [row("total", "", summary.totals, **totals)]
    rows += [row("district", d.district_code, d, district=d.district_code) for d in summary.by_district]
    rows += [row("dong", d.dong_code, d, d.dong_code) for d in summary.by_dong]
    rows += [row("source", s.source, s, source=s.source, source_label=s.source_label) for s in summary.by_source]
    rows += [
        row(
            "dong_source",
            f"{c.dong_code}:{c.source}",
            c,
            c.dong_code,
            source=c.source,
            source_label=source_label(c.source),
        )
        for c in summary.by_dong_source
    ]
    return rows


#: For the summary route's ``responses=``: JSON (the default), CSV or XLSX.
SUMMARY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "The summary: JSON by default; a table (CSV, UTF-8 with BOM, or XLSX) with Accept: text/csv or "
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, or ?format=csv|xlsx"
        ),
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    406: {"description": "Accept names no format offered (JSON, CSV, XLSX)"},
}


def _table_format(fmt: str | None, accept: str | None) -> str | None:
    """``csv`` or ``xlsx`` when the caller asked for a table (``format`` wins over ``Accept``), else None."""
    if fmt is not None:
        return None if fmt == "json" else negotiate(fmt, None)
    wanted = (accept or "").lower()
    if any(media in wanted for media in ("text/csv", "application/csv", XLSX_MEDIA_TYPE)):
        if "application/json" in wanted:
            try:
                json_first = negotiate(None, accept, offers=("ndjson", "csv", "xlsx")) == "ndjson"
            except Problem:
                json_first = False
            if json_first:
                return None
        return negotiate(None, accept)
    return None


async def summary_response(
    session: AsyncSession,
    principal: Principal,
    campaign: Campaign,
    *,
    fmt: str | None,
    accept: str | None,
) -> CampaignSummary | StreamingResponse:
    """The summary as JSON, or as a CSV or XLSX table (the rows of :func:`summary_rows`)."""
    table = _table_format(fmt, accept)
    summary = await summarize(session, principal, campaign)
    if table is None:
        return summary
    day = summary.as_of.isoformat()
    return table_response(
        table,
        list(TABLE_COLUMNS),
        [summary_rows(summary)],
        filename=f"ongi-campaign-summary-{day}",
        sheet="campaign summary",
    )
