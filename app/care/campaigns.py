"""Campaigns (DESIGN §2): a focused period — the winter campaign runs from December 15 to February 28 —
with its districts and criteria, and a summary.

Who: coordinators create and change the campaigns of their jurisdiction (every code of the campaign lies
within it); coordinators, planners and partners read the campaigns that overlap their jurisdiction (a visit
names its campaign); the summary is for coordinators, counted within their jurisdiction.

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
from datetime import UTC, date, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import codes_clause
from app.areas.service import area_names
from app.auth.models import Role
from app.auth.principal import Principal, in_codes
from app.care.common import codes_overlap, field_problem, forbid_roles, intersect_codes, local_today, period_bounds
from app.care.models import Campaign, Case, MonitoringPlan, Support, SupportStatus
from app.care.schemas import (
    CampaignCreate,
    CampaignCriteria,
    CampaignPublic,
    CampaignSummary,
    CampaignUpdate,
    DistrictSummary,
    DongSourceSummary,
    DongSummary,
    SourceSummary,
    SummaryCounts,
)
from app.core.errors import Problem, not_found
from app.core.i18n import register, t
from app.core.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.exports.tabular import XLSX_MEDIA_TYPE, negotiate, table_response
from app.households.models import INDICATORS, VULNERABILITY_TAGS, Household, HouseholdStatus, RiskLevel, Signal
from app.journal import audit
from app.visits.models import Visit, VisitStatus

READERS = (Role.coordinator, Role.planner, Role.partner)
RISK_RANK = {RiskLevel.low: 0, RiskLevel.moderate: 1, RiskLevel.high: 2, RiskLevel.critical: 3}
WINTER_START = (12, 15)
WINTER_END = (2, 28)


def winter_period(today: date) -> tuple[date, date]:
    """The winter campaign (December 15 – end of February) running on ``today``, or the next one."""
    start_year = today.year - 1 if today.month <= 2 else today.year
    start = date(start_year, *WINTER_START)
    end_year = start_year + 1
    leap = end_year % 4 == 0 and (end_year % 100 != 0 or end_year % 400 == 0)
    return start, date(end_year, 2, 29 if leap else 28)


def to_public(campaign: Campaign) -> CampaignPublic:
    return CampaignPublic(
        id=campaign.id,
        version=campaign.version,
        name=campaign.name,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        district_codes=list(campaign.district_codes or []),
        criteria=dict(campaign.criteria or {}),
        organization_id=campaign.organization_id,
        active=campaign.active,
        description=campaign.description,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def visible(principal: Principal, campaign: Campaign) -> bool:
    return principal.role in READERS and codes_overlap(list(campaign.district_codes or []), principal.jurisdiction)


async def get_campaign_or_404(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or not visible(principal, campaign):
        raise not_found()
    return campaign


async def list_campaigns(
    session: AsyncSession,
    principal: Principal,
    *,
    active: bool | None,
    on: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Campaign], str | None]:
    """Campaigns overlapping the caller's jurisdiction, oldest first. The jurisdiction test runs in Python
    (codes are JSON lists), scanning in batches; campaigns are few (a handful a year per district)."""
    if principal.role not in READERS:
        return [], None
    stmt = select(Campaign)
    if active is not None:
        stmt = stmt.where(Campaign.active.is_(active))
    if on is not None:
        stmt = stmt.where(Campaign.starts_on <= on, Campaign.ends_on >= on)
    after: tuple[datetime, uuid.UUID] | None = None
    if cursor:
        raw = decode_cursor(cursor)
        try:
            after = (datetime.fromisoformat(raw[0]), uuid.UUID(raw[1]))
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
    out: list[Campaign] = []
    for _ in range(1000):  # bounded scan
        page = stmt
        if after is not None:
            page = page.where(
                or_(Campaign.created_at > after[0], and_(Campaign.created_at == after[0], Campaign.id > after[1]))
            )
        rows = list((await session.execute(page.order_by(Campaign.created_at, Campaign.id).limit(200))).scalars())
        for row in rows:
            if visible(principal, row):
                out.append(row)
        if len(out) > limit or len(rows) < 200:
            break
        after = (rows[-1].created_at, rows[-1].id)
    next_cursor = None
    if len(out) > limit:
        out = out[:limit]
        next_cursor = encode_cursor([out[-1].created_at, out[-1].id])
    return out, next_cursor


def _check_criteria(criteria: CampaignCriteria, field: str) -> None:
    unknown = sorted(set(criteria.indicators) - set(INDICATORS)) + sorted(set(criteria.tags) - set(VULNERABILITY_TAGS))
    if unknown:
        raise field_problem(field, "care.unknown-criteria", values=", ".join(unknown))


def _check_codes(principal: Principal, codes: list[str], field: str) -> None:
    for code in codes:
        if not in_codes(code, principal.jurisdiction):
            raise field_problem(field, "care.outside-jurisdiction", code=code)


def _require_coordinator(principal: Principal) -> None:
    if principal.role != Role.coordinator:
        raise forbid_roles(Role.coordinator)


async def create_campaign(session: AsyncSession, principal: Principal, body: CampaignCreate) -> Campaign:
    _require_coordinator(principal)
    _check_codes(principal, body.district_codes, "body.district_codes")
    _check_criteria(body.criteria, "body.criteria")
    if body.ends_on < body.starts_on:
        raise field_problem("body.ends_on", "care.period-order")
    campaign = Campaign(
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        district_codes=sorted(set(body.district_codes)),
        criteria=body.criteria.model_dump(mode="json", exclude_defaults=True),
        organization_id=principal.organization_id,
        active=body.active,
        description=body.description,
        created_by_id=principal.user_id,
    )
    session.add(campaign)
    await session.flush()
    await audit.record(session, principal, "campaign.create", entity="campaign", entity_id=campaign.id)
    return campaign


async def update_campaign(
    session: AsyncSession, principal: Principal, campaign: Campaign, body: CampaignUpdate
) -> Campaign:
    _require_coordinator(principal)
    _check_codes(principal, list(campaign.district_codes or []), "body.district_codes")
    changes = body.model_dump(exclude_unset=True)
    if body.district_codes is not None:
        _check_codes(principal, body.district_codes, "body.district_codes")
        campaign.district_codes = sorted(set(body.district_codes))
    if body.criteria is not None:
        _check_criteria(body.criteria, "body.criteria")
        campaign.criteria = body.criteria.model_dump(mode="json", exclude_defaults=True)
    for name in ("name", "starts_on", "ends_on", "active"):
        if changes.get(name) is not None:
            setattr(campaign, name, changes[name])
    if "description" in changes:
        campaign.description = body.description
    if campaign.ends_on < campaign.starts_on:
        raise field_problem("body.ends_on", "care.period-order")
    await session.flush()
    await audit.record(
        session,
        principal,
        "campaign.update",
        entity="campaign",
        entity_id=campaign.id,
        details={"fields": sorted(changes)},
    )
    return campaign


def _chunks(ids: list[uuid.UUID], size: int = 500) -> list[list[uuid.UUID]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def summarize(
    session: AsyncSession, principal: Principal, campaign: Campaign, *, now: datetime | None = None
) -> CampaignSummary:
    _require_coordinator(principal)
    now = now or datetime.now(UTC)
    codes = intersect_codes(list(campaign.district_codes or []), principal.jurisdiction)
    start, end = period_bounds(campaign.starts_on, campaign.ends_on)
    criteria = CampaignCriteria.model_validate(campaign.criteria or {})
    indicators = set(criteria.indicators)
    tags = set(criteria.tags)
    min_rank = RISK_RANK[criteria.min_risk] if criteria.min_risk else 0

    dong_of: dict[uuid.UUID, str] = {}
    identified_sources: dict[uuid.UUID, set[str]] = defaultdict(set)
    stmt = (
        select(
            Signal.household_id,
            Signal.source,
            Signal.indicators,
            Household.dong_code,
            Household.tags,
            Household.risk_level,
        )
        .join(Household, Household.id == Signal.household_id)
        .where(
            Signal.observed_at >= start,
            Signal.observed_at < end,
            Household.deleted_at.is_(None),
            codes_clause(Household.dong_code, codes),
        )
    )
    if criteria.sources:
        stmt = stmt.where(Signal.source.in_([s.value for s in criteria.sources]))
    for hid, source, signal_indicators, dong, household_tags, risk in await session.execute(stmt):
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
    rows = await session.execute(
        select(Visit.household_id, Visit.facility_id, Visit.dong_code).where(
            Visit.campaign_id == campaign.id,
            Visit.status == VisitStatus.completed,
            Visit.deleted_at.is_(None),
            codes_clause(Visit.dong_code, codes),
        )
    )
    for hid, fid, dong in rows:
        visits_completed += 1
        if hid is not None:
            visited.add(hid)
            dong_of.setdefault(hid, dong)
        elif fid is not None:
            facilities += 1

    supported: set[uuid.UUID] = set()
    supports = 0
    rows = await session.execute(
        select(Support.household_id, Support.dong_code).where(
            Support.status.in_([SupportStatus.approved, SupportStatus.provided]),
            Support.deleted_at.is_(None),
            or_(
                and_(Support.approved_at >= start, Support.approved_at < end),
                and_(Support.provided_at >= start, Support.provided_at < end),
            ),
            codes_clause(Support.dong_code, codes),
        )
    )
    for hid, dong in rows:
        supports += 1
        supported.add(hid)
        dong_of.setdefault(hid, dong)

    monitored: set[uuid.UUID] = set()
    rows = await session.execute(
        select(MonitoringPlan.household_id, MonitoringPlan.dong_code).where(
            MonitoringPlan.active.is_(True),
            MonitoringPlan.starts_on <= campaign.ends_on,
            codes_clause(MonitoringPlan.dong_code, codes),
        )
    )
    for hid, dong in rows:
        monitored.add(hid)
        dong_of.setdefault(hid, dong)

    population = set(identified_sources) | visited | supported | monitored
    reached, unreachable, in_monitoring, missed = await _follow_up_sets(session, population, visited, start, end, now)

    # every source that brought a counted household to attention by the end
    ever_sources: dict[uuid.UUID, set[str]] = defaultdict(set)
    for chunk in _chunks(sorted(population)):
        for hid, source in await session.execute(
            select(Signal.household_id, Signal.source).where(Signal.household_id.in_(chunk), Signal.observed_at < end)
        ):
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
    legal clock (household, visit or case; ``app.winter`` when installed) went overdue in the period or is now."""
    from app.contacts.models import ContactAttempt, ContactOutcome

    reached = set(visited)
    unreachable: set[uuid.UUID] = set()
    in_monitoring: set[uuid.UUID] = set()
    missed: set[uuid.UUID] = set()
    try:
        from app.winter.deadlines import deadline_fields
        from app.winter.models import DeadlineNotice
    except ImportError:  # deadlines not installed: none missed
        deadline_fields = None  # type: ignore[assignment]
        DeadlineNotice = None  # type: ignore[assignment]
    for chunk in _chunks(sorted(population)):
        reached |= set(
            (
                await session.execute(
                    select(ContactAttempt.household_id).where(
                        ContactAttempt.household_id.in_(chunk),
                        ContactAttempt.outcome.in_([ContactOutcome.reached, ContactOutcome.refused]),
                        ContactAttempt.at >= start,
                        ContactAttempt.at < end,
                    )
                )
            ).scalars()
        )
        for household in (await session.execute(select(Household).where(Household.id.in_(chunk)))).scalars():
            if household.unreachable_at is not None:
                unreachable.add(household.id)
            if household.status == HouseholdStatus.monitoring:
                in_monitoring.add(household.id)
            if deadline_fields is not None and deadline_fields(household, now)["deadline_state"] == "overdue":
                missed.add(household.id)
        if DeadlineNotice is None:
            continue
        overdue = and_(DeadlineNotice.state == "overdue", DeadlineNotice.due_at >= start, DeadlineNotice.due_at < end)
        missed |= set(
            (
                await session.execute(
                    select(DeadlineNotice.entity_id).where(
                        overdue, DeadlineNotice.entity == "household", DeadlineNotice.entity_id.in_(chunk)
                    )
                )
            ).scalars()
        )
        for model, entity in ((Visit, "visit"), (Case, "case")):
            missed |= set(
                (
                    await session.execute(
                        select(model.household_id)
                        .join(
                            DeadlineNotice, and_(DeadlineNotice.entity == entity, DeadlineNotice.entity_id == model.id)
                        )
                        .where(overdue, model.household_id.in_(chunk))
                    )
                ).scalars()
            )
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


register(
    {
        "campaigns.dimension.total": {"ko": "합계", "en": "Total"},
        "campaigns.dimension.district": {"ko": "시군구별", "en": "By district"},
        "campaigns.dimension.dong": {"ko": "행정동별", "en": "By dong"},
        "campaigns.dimension.source": {"ko": "발굴 경로별", "en": "By source"},
        "campaigns.dimension.dong_source": {"ko": "행정동×발굴 경로", "en": "Dong × source"},
        "campaigns.source.bigdata": {
            "ko": "빅데이터(단전·단수·체납 등)",
            "en": "Big-data list (utility cuts, arrears)",
        },
        "campaigns.source.lonely_death_screening": {"ko": "고독사 위험 조사", "en": "Lonely-death screening"},
        "campaigns.source.agency_referral": {
            "ko": "기관 의뢰(경찰·소방 등)",
            "en": "Agency referral (police, fire, …)",
        },
        "campaigns.source.resident_report": {"ko": "주민 제보", "en": "Resident report"},
        "campaigns.source.honorary_official": {"ko": "명예사회복지공무원 제보", "en": "Honorary welfare official"},
        "campaigns.source.benefit_rejected": {"ko": "수급 탈락·중지", "en": "Benefit rejected or stopped"},
        "campaigns.source.unknown": {"ko": "경로 미상", "en": "Unknown source"},
    }
)


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
