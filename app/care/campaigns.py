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

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import codes_clause
from app.audit import service as audit
from app.auth.models import Role
from app.auth.principal import Principal, in_codes
from app.care.common import codes_overlap, field_problem, forbid_roles, intersect_codes, local_today, period_bounds
from app.care.models import Campaign, MonitoringPlan, Support, SupportStatus
from app.care.schemas import (
    CampaignCreate,
    CampaignCriteria,
    CampaignPublic,
    CampaignSummary,
    CampaignUpdate,
    DongSummary,
    SourceSummary,
    SummaryCounts,
)
from app.core.errors import not_found
from app.core.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.households.models import INDICATORS, VULNERABILITY_TAGS, Household, RiskLevel, Signal
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

    # every source that brought the visited, supported and monitored households to attention by the end
    ever_sources: dict[uuid.UUID, set[str]] = defaultdict(set)
    others = sorted(visited | supported | monitored)
    for chunk in _chunks(others):
        for hid, source in await session.execute(
            select(Signal.household_id, Signal.source).where(Signal.household_id.in_(chunk), Signal.observed_at < end)
        ):
            ever_sources[hid].add(str(getattr(source, "value", source)))

    by_dong: dict[str, SummaryCounts] = defaultdict(SummaryCounts)
    by_source: dict[str, SummaryCounts] = defaultdict(SummaryCounts)
    for hid in identified_sources:
        by_dong[dong_of[hid]].identified += 1
        for source in identified_sources[hid]:
            by_source[source].identified += 1
    for name, households in (("visited", visited), ("supported", supported), ("monitored", monitored)):
        for hid in households:
            counts = by_dong[dong_of[hid]]
            setattr(counts, name, getattr(counts, name) + 1)
            for source in ever_sources.get(hid) or {"unknown"}:
                setattr(by_source[source], name, getattr(by_source[source], name) + 1)

    await audit.record(
        session,
        principal,
        "campaign.summary",
        entity="campaign",
        entity_id=campaign.id,
        details={"identified": len(identified_sources), "visited": len(visited), "supported": len(supported)},
    )
    return CampaignSummary(
        campaign_id=campaign.id,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        as_of=local_today(now),
        district_codes=codes,
        totals=SummaryCounts(
            identified=len(identified_sources), visited=len(visited), supported=len(supported), monitored=len(monitored)
        ),
        visits_completed=visits_completed,
        facilities_inspected=facilities,
        supports=supports,
        by_dong=[DongSummary(dong_code=d, **c.model_dump()) for d, c in sorted(by_dong.items())],
        by_source=[SourceSummary(source=s, **c.model_dump()) for s, c in sorted(by_source.items())],
    )
